#include <atf-c.h>
ATF_TC_WITHOUT_HEAD(stub);
ATF_TC_BODY(stub, tc) { ATF_CHECK(1); }
ATF_TP_ADD_TCS(tp) { ATF_TP_ADD_TC(tp, stub); return atf_no_error(); }

/*
 * l4d-docker's labels: a container from /containers/json made into the
 * server it stands for, or an error that says which label is wrong.
 */

#include <sys/types.h>

#include <atf-c.h>
#include <stdio.h>
#include <string.h>

#include "l4d.h"
#include "l4d-docker.h"

/* libatf-c keeps its test-case list until exit: not ours to report. */
const char	*__lsan_default_suppressions(void);
const char	*__lsan_default_options(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libatf-c.so\n";
}

const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

#define ID	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"

/* A container with labels (JSON object text) and networking. */
static json_t *
container(const char *labels, const char *mode, const char *nets)
{
	char		 buf[4096];
	json_error_t	 jerr;
	json_t		*c;

	snprintf(buf, sizeof(buf), "{\"Id\":\"%s\",\"Names\":[\"/web1\"],"
	    "\"State\":\"running\",\"Labels\":%s,\"HostConfig\":"
	    "{\"NetworkMode\":\"%s\"},\"NetworkSettings\":{\"Networks\":%s}}",
	    ID, labels, mode, nets);
	c = json_loads(buf, 0, &jerr);
	ATF_REQUIRE_MSG(c != NULL, "%s: %s", buf, jerr.text);
	return c;
}

static int
parse(const char *labels, const char *mode, const char *nets,
    struct target *t, char *err)
{
	json_t	*c;
	int	 rv;

	c = container(labels, mode, nets);
	rv = labels_parse(c, t, err, DD_ERR_MAX);
	json_decref(c);
	return rv;
}

#define HOSTNET	"host", "{\"host\":{\"IPAddress\":\"\"}}"

static void
expect_error(const char *labels, const char *mode, const char *nets,
    const char *want)
{
	struct target	 t;
	char		 err[DD_ERR_MAX];

	ATF_CHECK_EQ_MSG(parse(labels, mode, nets, &t, err), LABELS_ERROR,
	    "%s: no error", labels);
	ATF_CHECK_MSG(strstr(err, want) != NULL, "%s: \"%s\" lacks \"%s\"",
	    labels, err, want);
	ATF_CHECK_STREQ(t.name, "web1");
}

ATF_TC_WITHOUT_HEAD(host_network);
ATF_TC_BODY(host_network, tc)
{
	struct target	 t;
	char		 err[DD_ERR_MAX];

	ATF_REQUIRE_EQ(parse("{\"l4d.backend\":\"pool\",\"l4d.port\":"
	    "\"8080\"}", HOSTNET, &t, err), LABELS_OK);
	ATF_CHECK_STREQ(t.backend, "pool");
	ATF_CHECK_STREQ(t.address, "127.0.0.1:8080");
	ATF_CHECK_STREQ(t.name, "web1");
	ATF_CHECK_STREQ(t.id, ID);
	ATF_CHECK_EQ(t.weight, 0);
	ATF_CHECK_EQ(t.backup, 0);

	ATF_REQUIRE_EQ(parse("{\"l4d.backend\":\"pool\",\"l4d.port\":"
	    "\"65535\",\"l4d.weight\":\"256\",\"l4d.backup\":\"true\"}",
	    HOSTNET, &t, err), LABELS_OK);
	ATF_CHECK_STREQ(t.address, "127.0.0.1:65535");
	ATF_CHECK_EQ(t.weight, 256);
	ATF_CHECK_EQ(t.backup, 1);
}

ATF_TC_WITHOUT_HEAD(not_ours);
ATF_TC_BODY(not_ours, tc)
{
	struct target	 t;
	char		 err[DD_ERR_MAX];

	ATF_CHECK_EQ(parse("{}", HOSTNET, &t, err), LABELS_NONE);
	ATF_CHECK_EQ(parse("null", HOSTNET, &t, err), LABELS_NONE);
	ATF_CHECK_EQ(parse("{\"com.example\":\"x\",\"l4dx\":\"y\"}",
	    HOSTNET, &t, err), LABELS_NONE);
}

ATF_TC_WITHOUT_HEAD(port);
ATF_TC_BODY(port, tc)
{
	expect_error("{\"l4d.backend\":\"pool\"}", HOSTNET,
	    "l4d.port is missing");
	expect_error("{\"l4d.backend\":\"pool\",\"l4d.port\":\"0\"}",
	    HOSTNET, "l4d.port=\"0\" is too small");
	expect_error("{\"l4d.backend\":\"pool\",\"l4d.port\":\"65536\"}",
	    HOSTNET, "l4d.port=\"65536\" is too large");
	expect_error("{\"l4d.backend\":\"pool\",\"l4d.port\":\"80x\"}",
	    HOSTNET, "l4d.port=\"80x\" is invalid");
	expect_error("{\"l4d.backend\":\"pool\",\"l4d.port\":\"\"}",
	    HOSTNET, "l4d.port=\"\" is invalid");
	expect_error("{\"l4d.backend\":\"pool\",\"l4d.port\":\"-1\"}",
	    HOSTNET, "l4d.port=\"-1\" is too small");
}

ATF_TC_WITHOUT_HEAD(backend);
ATF_TC_BODY(backend, tc)
{
	char	 labels[512];

	expect_error("{\"l4d.port\":\"80\"}", HOSTNET,
	    "l4d.backend is missing");
	expect_error("{\"l4d.backend\":\"\",\"l4d.port\":\"80\"}", HOSTNET,
	    "is not a backend name");
	expect_error("{\"l4d.backend\":\"a b\",\"l4d.port\":\"80\"}",
	    HOSTNET, "is not a backend name");
	snprintf(labels, sizeof(labels), "{\"l4d.backend\":\"%0*d\","
	    "\"l4d.port\":\"80\"}", L4D_NAME_MAX, 0);
	expect_error(labels, HOSTNET, "is not a backend name");
}

ATF_TC_WITHOUT_HEAD(options);
ATF_TC_BODY(options, tc)
{
	expect_error("{\"l4d.backend\":\"p\",\"l4d.port\":\"80\","
	    "\"l4d.weight\":\"0\"}", HOSTNET, "l4d.weight=\"0\" is too small");
	expect_error("{\"l4d.backend\":\"p\",\"l4d.port\":\"80\","
	    "\"l4d.weight\":\"257\"}", HOSTNET, "too large");
	expect_error("{\"l4d.backend\":\"p\",\"l4d.port\":\"80\","
	    "\"l4d.backup\":\"yes\"}", HOSTNET, "is not true or false");
	expect_error("{\"l4d.backend\":\"p\",\"l4d.port\":\"80\","
	    "\"l4d.prot\":\"80\"}", HOSTNET, "unknown label l4d.prot");
	expect_error("{\"l4d.backend\":\"p\",\"l4d.port\":80}", HOSTNET,
	    "label l4d.port is not a string");
}

ATF_TC_WITHOUT_HEAD(networks);
ATF_TC_BODY(networks, tc)
{
	struct target	 t;
	char		 err[DD_ERR_MAX];
	const char	*two = "{\"front\":{\"IPAddress\":\"172.18.0.2\"},"
			    "\"back\":{\"IPAddress\":\"172.19.0.5\"}}";

	ATF_REQUIRE_EQ(parse("{\"l4d.backend\":\"p\",\"l4d.port\":\"80\"}",
	    "bridge", "{\"bridge\":{\"IPAddress\":\"172.17.0.3\"}}", &t, err),
	    LABELS_OK);
	ATF_CHECK_STREQ(t.address, "172.17.0.3:80");
	ATF_REQUIRE_EQ(parse("{\"l4d.backend\":\"p\",\"l4d.port\":\"80\","
	    "\"l4d.network\":\"back\"}", "front", two, &t, err), LABELS_OK);
	ATF_CHECK_STREQ(t.address, "172.19.0.5:80");
	ATF_REQUIRE_EQ(parse("{\"l4d.backend\":\"p\",\"l4d.port\":\"80\"}",
	    "v6", "{\"v6\":{\"IPAddress\":\"\",\"GlobalIPv6Address\":"
	    "\"fd00::5\"}}", &t, err), LABELS_OK);
	ATF_CHECK_STREQ(t.address, "[fd00::5]:80");

	expect_error("{\"l4d.backend\":\"p\",\"l4d.port\":\"80\"}", "front",
	    two, "addresses on 2 networks: say which with l4d.network");
	expect_error("{\"l4d.backend\":\"p\",\"l4d.port\":\"80\","
	    "\"l4d.network\":\"other\"}", "front", two, "not on that network");
	expect_error("{\"l4d.backend\":\"p\",\"l4d.port\":\"80\"}", "none",
	    "{}", "no address on any network");
	expect_error("{\"l4d.backend\":\"p\",\"l4d.port\":\"80\"}", "b",
	    "{\"b\":{\"IPAddress\":\"1.2.3.4; rm\"}}", "bad address");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, host_network);
	ATF_TP_ADD_TC(tp, not_ours);
	ATF_TP_ADD_TC(tp, port);
	ATF_TP_ADD_TC(tp, backend);
	ATF_TP_ADD_TC(tp, options);
	ATF_TP_ADD_TC(tp, networks);
	return atf_no_error();
}

/*
 * Linux: session tickets under LibreTLS (Debian's libtls), linked into
 * l4d by the Makefile where uname says Linux; the BSDs' libtls is
 * LibreSSL's and needs none of this.
 */

#include <dlfcn.h>

#include "l4d.h"

/*
 * Session tickets under LibreTLS.  libtls' ticket callback returns 0
 * once it has set a ticket up, as LibreSSL wants; OpenSSL, which
 * LibreTLS (Debian's libtls) runs on, reads 0 as "no ticket", so no
 * session could ever be resumed.  libtls installs the callback with
 * SSL_CTX_callback_ctrl(); defined here, that call reaches us first
 * and the callback gets a wrapper that says 1 instead.  Under LibreSSL
 * both mean success, so the wrapper changes nothing there.
 */
#define SSL_CTRL_SET_TLSEXT_TICKET_KEY_CB	72	/* OpenSSL, LibreSSL */

typedef int	(*ticket_cb)(void *, unsigned char *, unsigned char *,
		    void *, void *, int);
static ticket_cb	 libtls_ticket_cb;

long	 SSL_CTX_callback_ctrl(void *, int, void (*)(void));

static int
ticket_cb_fixed(void *ssl, unsigned char *name, unsigned char *iv,
    void *cipher, void *hmac, int enc)
{
	int	 rv;

	rv = libtls_ticket_cb(ssl, name, iv, cipher, hmac, enc);
	return enc == 1 && rv == 0 ? 1 : rv;
}

/*
 * A TLS 1.3 server under OpenSSL sends two tickets after every
 * handshake; one is enough to resume (a resumed session gets a fresh
 * one), and each costs a write, a random IV and its encryption.  The
 * server contexts are the ones that get a ticket callback, so that is
 * where the number is set, when the library has the call (OpenSSL
 * 1.1.1 on; LibreSSL sends one already).
 */
static void
ticket_count(void *ctx)
{
	static int	(*set_num)(void *, size_t);
	static int	 looked;

	if (!looked) {
		*(void **)&set_num = dlsym(RTLD_NEXT,
		    "SSL_CTX_set_num_tickets");
		looked = 1;
	}
	if (set_num != NULL)
		(void)set_num(ctx, 1);
}

long
SSL_CTX_callback_ctrl(void *ctx, int cmd, void (*fp)(void))
{
	static long	(*real)(void *, int, void (*)(void));

	if (real == NULL &&
	    (*(void **)&real = dlsym(RTLD_NEXT, "SSL_CTX_callback_ctrl")) ==
	    NULL)
		fatalx("SSL_CTX_callback_ctrl: %s", dlerror());
	if (cmd == SSL_CTRL_SET_TLSEXT_TICKET_KEY_CB && fp != NULL) {
		libtls_ticket_cb = (ticket_cb)fp;
		fp = (void (*)(void))ticket_cb_fixed;
		ticket_count(ctx);
	}
	return real(ctx, cmd, fp);
}

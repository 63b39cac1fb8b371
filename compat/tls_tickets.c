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

#define TLS1_3_VERSION_NUMBER			0x0304

/*
 * libssl's calls used here, looked up once when libtls installs its
 * ticket callback (l4d links libtls, not libssl, so they cannot be
 * named); a library without one goes without.
 */
static int	(*ssl_version)(const void *);
static int	(*ssl_set_num_tickets)(void *, size_t);

static void
libssl_lookup(void)
{
	static int	 looked;

	if (looked)
		return;
	*(void **)&ssl_version = dlsym(RTLD_NEXT, "SSL_version");
	*(void **)&ssl_set_num_tickets = dlsym(RTLD_NEXT,
	    "SSL_CTX_set_num_tickets");
	looked = 1;
}

/*
 * On a ticket that decrypts, a TLS 1.3 connection asks for a fresh one
 * (2, "renew"): clients use a TLS 1.3 ticket once (RFC 8446, C.4;
 * OpenSSL's drops the session it resumed), so without a new ticket
 * every other connection of such a client was a full handshake.
 * OpenSSL's own keys renew there too.  TLS 1.2 clients reuse a ticket;
 * they get a new one only when the key that sealed it is no longer the
 * newest, as libtls says.
 */
static int
ticket_cb_fixed(void *ssl, unsigned char *name, unsigned char *iv,
    void *cipher, void *hmac, int enc)
{
	int	 rv;

	rv = libtls_ticket_cb(ssl, name, iv, cipher, hmac, enc);
	if (enc == 1)
		return rv == 0 ? 1 : rv;
	if (rv == 1 && ssl_version != NULL &&
	    ssl_version(ssl) == TLS1_3_VERSION_NUMBER)
		return 2;
	return rv;
}

/*
 * libtls installs its ticket callback here, and the wrapper takes its
 * place.  The server contexts are the ones that get a ticket callback,
 * so this is also where they are told to send one ticket after a TLS
 * 1.3 handshake, not OpenSSL's two: one is enough to resume (a resumed
 * session gets a fresh one), and each costs a write, a random IV and
 * its encryption (OpenSSL 1.1.1 on; LibreSSL sends one already).
 */
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
		libssl_lookup();
		if (ssl_set_num_tickets != NULL)
			(void)ssl_set_num_tickets(ctx, 1);
	}
	return real(ctx, cmd, fp);
}

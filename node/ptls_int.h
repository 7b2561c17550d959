/*
 * ptls_int.h -- what the two files of TLS on the peer links share (private
 * to ptls_ctx.c, the context: keys, certificate files, their reload; and
 * ptls.c, one connection): the structures, and a few helpers.
 */
#ifndef HERD_PTLS_INT_H
#define HERD_PTLS_INT_H

#include <sys/types.h>

#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "keyring.h"
#include "ptls.h"

#define PTLS_HOSTFLAGS	(X509_CHECK_FLAG_NO_WILDCARDS | \
			 X509_CHECK_FLAG_NEVER_CHECK_SUBJECT)
#define PTLS_WHY_SIZE	320

enum { PTLS_F_CERT, PTLS_F_KEY, PTLS_F_CA, PTLS_NFILES };

/* What a file was when last loaded: another stamp, load it again. */
struct ptls_stamp {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime, ctime;
	int		 err;		/* stat's errno, or 0 */
};

struct ptls_key {
	char		 id[KEYRING_ID_SIZE];	/* the PSK identity */
	unsigned char	 psk[KEYRING_PSK_LEN];
};

struct ptls_ctx {
	SSL_CTX			*ssl;		/* new connections' */
	enum ptls_mode		 mode;
	char			 self[HERD_NAME_MAX + 1];	/* "": unchecked */
	struct ptls_key		 keys[HERD_KEYS_MAX];	/* keys[0] dials */
	size_t			 nkeys;
	char			 file[PTLS_NFILES][HERD_PATH_MAX];
	struct ptls_stamp	 stamp[PTLS_NFILES];	/* as last looked at */
};

enum ptls_state { PTLS_HANDSHAKE, PTLS_UP, PTLS_FAILED };

struct ptls {
	struct ptls_ctx		*ctx;
	SSL			*ssl;
	int			 fd;
	int			 dialler;	/* the TLS client */
	enum ptls_mode		 mode;		/* ctx's when made */
	enum ptls_state		 state;
	int			 started;	/* a first handshake step made */
	int			 seen;		/* the peer's first byte: TLS */
	int			 want_hs;	/* EV_READ, EV_WRITE or 0 */
	int			 want_rd, want_wr;
	int			 eof;		/* read the end: 0 from now on */
	int			 clean;		/* the end was a close_notify */
	int			 eof_held;	/* read, not yet returned */
	int			 err_no;	/* a failure's errno */
	int			 key;		/* PSK: keyring index, or -1 */
	char			 peer[HERD_NAME_MAX + 1];	/* dialled */
	char			 name[PTLS_NAME_SIZE];	/* ptls_key_name */
	char			 why[PTLS_WHY_SIZE];	/* ptls_error */
};

/* ptls_ctx.c */
/* Certificate mode: load the files again if they changed (ptls_new). */
void	 ptls_refresh(struct ptls_ctx *ctx);
/* The reason of OpenSSL's last error, for a message. */
const char *ptls_ssl_reason(void);
/* Printable text of n bytes, for a message: up to a line end, 60 bytes. */
void	 ptls_quote(char *dst, size_t size, const unsigned char *b, size_t n);

#endif /* HERD_PTLS_INT_H */

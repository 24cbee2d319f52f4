#ifndef TENSORWIRE_COPENSSL_SHIM_H
#define TENSORWIRE_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

// Function-like macros and expression constants do not import into Swift, so each one used by
// TensorWireTransport gets a prefixed static inline wrapper here.

static inline int tw_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_min_proto_version(ctx, v); }
static inline int tw_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_max_proto_version(ctx, v); }
static inline long tw_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline int tw_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) { return (int)SSL_CTX_set1_groups_list(ctx, list); }
static inline int tw_SSL_set_tlsext_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }

static inline long tw_SSL_MODE_ENABLE_PARTIAL_WRITE(void) { return SSL_MODE_ENABLE_PARTIAL_WRITE; }
static inline long tw_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER(void) { return SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER; }

static inline uint64_t tw_SSL_OP_NO_COMPRESSION(void) { return (uint64_t)SSL_OP_NO_COMPRESSION; }
static inline uint64_t tw_SSL_OP_NO_RENEGOTIATION(void) { return (uint64_t)SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t tw_SSL_OP_NO_TICKET(void) { return (uint64_t)SSL_OP_NO_TICKET; }

static inline int tw_ERR_GET_REASON(unsigned long e) { return ERR_GET_REASON(e); }
static inline int tw_SSL_R_UNEXPECTED_EOF_WHILE_READING(void) { return SSL_R_UNEXPECTED_EOF_WHILE_READING; }
static inline unsigned long tw_XN_FLAG_RFC2253(void) { return XN_FLAG_RFC2253; }

/// Subject of the peer certificate as an RFC 2253 string ("CN=..."), or 0 bytes if none.
/// Returns the length written (truncated to cap-1), -1 if there is no peer certificate.
static inline int tw_peer_subject(SSL *ssl, char *out, int cap) {
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (cert == NULL) return -1;
    BIO *bio = BIO_new(BIO_s_mem());
    int len = -1;
    if (bio != NULL) {
        if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
            len = BIO_read(bio, out, cap - 1);
            if (len < 0) len = 0;
            out[len] = 0;
        }
        BIO_free(bio);
    }
    X509_free(cert);
    return len;
}
#endif

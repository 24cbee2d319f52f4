#ifndef TENSORWIRE_COPENSSL_SHIM_H
#define TENSORWIRE_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

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

/// Appends "<prefix><value>\n" to out when the whole line fits and value is a clean name: no
/// control bytes (a NUL inside an ASN.1 string is the classic way to smuggle a second name past
/// C string handling), no DEL, no newline. Returns the new length; an entry that does not fit or
/// is not clean is left out whole, never truncated, so a name can only be missing, never altered.
/// DNS names and URIs are IA5 (ASCII) strings; `ascii_only` refuses anything else in them.
static inline int tw_identity_append(char *out, int cap, int len, const char *prefix,
                                     const unsigned char *value, int value_len, int ascii_only) {
    if (value == NULL || value_len <= 0) return len;
    for (int i = 0; i < value_len; i++) {
        if (value[i] < 0x20 || value[i] == 0x7F || (ascii_only && value[i] > 0x7F)) return len;
    }
    int prefix_len = (int)strlen(prefix);
    if (len + prefix_len + value_len + 1 > cap - 1) return len;
    memcpy(out + len, prefix, (size_t)prefix_len);
    memcpy(out + len + prefix_len, value, (size_t)value_len);
    len += prefix_len + value_len;
    out[len++] = '\n';
    out[len] = 0;
    return len;
}

/// The names a verified peer certificate proves, one per line: "CN=<last common name>" (UTF-8),
/// then "DNS:<name>" and "URI:<uri>" for each such subjectAltName. Returns the bytes written,
/// or -1 when there is no peer certificate or it did not verify.
static inline int tw_peer_identity(SSL *ssl, char *out, int cap) {
    if (cap < 1) return -1;
    out[0] = 0;
    if (SSL_get_verify_result(ssl) != X509_V_OK) return -1;
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (cert == NULL) return -1;
    int len = 0;
    X509_NAME *subject = X509_get_subject_name(cert);
    // The last CN is the most specific one (RFC 6125 §2.3.1, footnote on multiple CNs).
    int index = -1, last = -1;
    while ((index = X509_NAME_get_index_by_NID(subject, NID_commonName, index)) >= 0) last = index;
    if (last >= 0) {
        ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last));
        unsigned char *utf8 = NULL;
        int utf8_len = ASN1_STRING_to_UTF8(&utf8, data);
        if (utf8_len > 0) len = tw_identity_append(out, cap, len, "CN=", utf8, utf8_len, 0);
        OPENSSL_free(utf8);
    }
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names != NULL) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
            const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
            if (name->type == GEN_DNS) {
                len = tw_identity_append(out, cap, len, "DNS:", ASN1_STRING_get0_data(name->d.dNSName),
                                         ASN1_STRING_length(name->d.dNSName), 1);
            } else if (name->type == GEN_URI) {
                len = tw_identity_append(out, cap, len, "URI:", ASN1_STRING_get0_data(name->d.uniformResourceIdentifier),
                                         ASN1_STRING_length(name->d.uniformResourceIdentifier), 1);
            }
        }
        GENERAL_NAMES_free(names);
    }
    X509_free(cert);
    return len;
}
#endif

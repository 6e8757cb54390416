/* tls.c - the server TLS context (OpenSSL 3): certificate chain and key from
 * MLLP_TLS_CERT / MLLP_TLS_KEY, TLS 1.2 or later, and client certificates
 * per MLLP_TLS_CLIENT_AUTH: none, optional (checked against MLLP_TLS_CA when
 * sent), require (a client without a certificate the CA signed fails the
 * handshake). */
#include <openssl/err.h>
#include <stdio.h>

#include "svc.h"

static hf_status ssl_fail(SSL_CTX *ctx, hf_err *err, const char *what, const char *path) {
    char text[256] = "unknown error";
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, text, sizeof text);
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return hf_err_set(err, HF_ECONFIG, "%s %s: %s", what, path != NULL ? path : "", text);
}

hf_status mllp_tls_ctx(const mllp_cfg *cfg, SSL_CTX **out, hf_err *err) {
    *out = NULL;
    if (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0')
        return hf_err_set(err, HF_ECONFIG,
                          "MLLP_LISTEN has a tls: listener but MLLP_TLS_CERT or MLLP_TLS_KEY is empty");
    if (cfg->tls_client_auth != TLS_AUTH_NONE && cfg->tls_ca[0] == '\0')
        return hf_err_set(err, HF_ECONFIG, "MLLP_TLS_CLIENT_AUTH needs MLLP_TLS_CA");
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return ssl_fail(NULL, err, "SSL_CTX_new", NULL);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1)
        return ssl_fail(ctx, err, "MLLP_TLS_CERT", cfg->tls_cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1)
        return ssl_fail(ctx, err, "MLLP_TLS_KEY", cfg->tls_key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return ssl_fail(ctx, err, "MLLP_TLS_KEY does not match", cfg->tls_cert);
    if (cfg->tls_client_auth != TLS_AUTH_NONE) {
        if (SSL_CTX_load_verify_locations(ctx, cfg->tls_ca, NULL) != 1)
            return ssl_fail(ctx, err, "MLLP_TLS_CA", cfg->tls_ca);
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_ca);
        if (names != NULL)
            SSL_CTX_set_client_CA_list(ctx, names);
        int mode = SSL_VERIFY_PEER;
        if (cfg->tls_client_auth == TLS_AUTH_REQUIRE)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, NULL);
    }
    *out = ctx;
    return HF_OK;
}

/*
 * server.c: owns the HTTPS listener of mamori-payhost and its TLS identity
 * (see server.h). Owns no payment decisions (host.c) and logs one line per
 * decision (masked data only: the reason and the KSN, never card data).
 */
#include "payhost/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "payhost/request.h"

struct payhost_server {
    struct MHD_Daemon *d;
    struct payhost *h;
    char *cert;
    char *key;
};

struct conn {
    struct buf body;
    bool too_big;
};

static int read_pem(const char *path, char **ret)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    char *p;
    size_t len = 0;
    if (fd < 0)
        return errno == ENOENT ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_IO;
    if ((p = malloc(PAYHOST_PEM_MAX + 1)) == NULL) {
        close(fd);
        return MAMORI_ERR_NOMEM;
    }
    for (;;) {
        ssize_t k = read(fd, p + len, PAYHOST_PEM_MAX + 1 - len);
        if (k <= 0)
            break;
        len += (size_t)k;
        if (len > PAYHOST_PEM_MAX) {
            close(fd);
            free(p);
            return MAMORI_ERR_TOOBIG;
        }
    }
    close(fd);
    p[len] = '\0';
    *ret = p;
    return 0;
}

static int write_pem(const char *path, mode_t mode, int (*wr)(BIO *, void *), void *obj)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    BIO *b;
    int r = MAMORI_ERR_IO;
    if (fd < 0)
        return MAMORI_ERR_IO;
    if ((b = BIO_new_fd(fd, BIO_CLOSE)) == NULL) {
        close(fd);
        return MAMORI_ERR_NOMEM;
    }
    if (wr(b, obj))
        r = 0;
    BIO_free(b);
    return r;
}

static int wr_key(BIO *b, void *k)
{
    return PEM_write_bio_PrivateKey(b, (EVP_PKEY *)k, NULL, NULL, 0, NULL, NULL);
}

static int wr_cert(BIO *b, void *c)
{
    return PEM_write_bio_X509(b, (X509 *)c);
}

static int create_identity(const char *cert_path, const char *key_path)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *c = X509_new();
    X509_EXTENSION *ext = NULL;
    X509V3_CTX v3;
    int r = MAMORI_ERR_CRYPTO;
    uint8_t serial[8];
    if (k == NULL || c == NULL)
        goto out;
    randombytes_buf(serial, sizeof(serial));
    serial[0] &= 0x7f; /* positive */
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (bn == NULL || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c))) {
        BN_free(bn);
        goto out;
    }
    BN_free(bn);
    X509_NAME *name = X509_get_subject_name(c);
    if (!X509_set_version(c, 2) || !X509_gmtime_adj(X509_getm_notBefore(c), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(c), 10L * 365 * 24 * 3600) || !X509_set_pubkey(c, k) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mamori-payhost (simulator)",
                                    -1, -1, 0) ||
        !X509_set_issuer_name(c, name))
        goto out;
    X509V3_set_ctx(&v3, c, c, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    if (ext == NULL || !X509_add_ext(c, ext, -1) || !X509_sign(c, k, EVP_sha256()))
        goto out;
    if ((r = write_pem(key_path, 0600, wr_key, k)) != 0 || (r = write_pem(cert_path, 0644, wr_cert, c)) != 0)
        goto out;
    r = 0;
out:
    X509_EXTENSION_free(ext);
    X509_free(c);
    EVP_PKEY_free(k);
    return r;
}

int payhost_tls_load_or_create(const char *state_dir, const char *cert_path, const char *key_path,
                               char **ret_cert_pem, char **ret_key_pem)
{
    char cp[4096], kp[4096];
    char *cert = NULL, *key = NULL;
    int r;
    if (ret_cert_pem == NULL || ret_key_pem == NULL || (state_dir == NULL && (!cert_path || !key_path)))
        return MAMORI_ERR_INVAL;
    snprintf(cp, sizeof(cp), "%s", cert_path ? cert_path : "");
    snprintf(kp, sizeof(kp), "%s", key_path ? key_path : "");
    if (cert_path == NULL)
        snprintf(cp, sizeof(cp), "%s/cert.pem", state_dir);
    if (key_path == NULL)
        snprintf(kp, sizeof(kp), "%s/key.pem", state_dir);
    if (access(cp, F_OK) != 0 && access(kp, F_OK) != 0 && cert_path == NULL && key_path == NULL &&
        (r = create_identity(cp, kp)) != 0)
        return r;
    if ((r = read_pem(cp, &cert)) != 0 || (r = read_pem(kp, &key)) != 0) {
        free(cert);
        return r;
    }
    *ret_cert_pem = cert;
    *ret_key_pem = key;
    return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *json)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result r;
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
    struct payhost_server *s = cls;
    struct conn *cn = *con_cls;
    if (cn == NULL) {
        if ((cn = calloc(1, sizeof(*cn))) == NULL)
            return MHD_NO;
        buf_init(&cn->body, PAYHOST_BODY_MAX);
        *con_cls = cn;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0 || strcmp(url, "/v1/authorize") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "{\"result\":\"error\",\"reason\":\"not_found\"}");
    if (*upload_size > 0) {
        if (!cn->too_big && buf_put_bytes(&cn->body, upload_data, *upload_size) != 0)
            cn->too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (cn->too_big)
        return reply(c, MHD_HTTP_CONTENT_TOO_LARGE, "{\"result\":\"error\",\"reason\":\"too_big\"}");
    struct buf out;
    int status = 500;
    const char *reason = "";
    buf_init(&out, PAYHOST_RESPONSE_MAX);
    int r = payhost_handle(s->h, (const char *)cn->body.d, cn->body.len, &out, &status, &reason);
    enum MHD_Result mr;
    if (r != 0) {
        mr = reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "{\"result\":\"error\",\"reason\":\"host_error\"}");
    } else {
        mr = reply(c, (unsigned int)status, (const char *)out.d);
        if (reason[0] != '\0')
            log_warn("payhost.declined", F_STR("reason", reason));
        else
            log_info("payhost.approved", F_INT("status", status));
    }
    buf_free(&out);
    return mr;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct conn *cn = *con_cls;
    if (cn != NULL) {
        buf_free(&cn->body);
        free(cn);
        *con_cls = NULL;
    }
}

int payhost_server_start(struct payhost *h, uint16_t port, const char *cert_pem, const char *key_pem,
                         struct payhost_server **ret)
{
    struct payhost_server *s;
    struct sockaddr_in sa;
    if (h == NULL || cert_pem == NULL || key_pem == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return MAMORI_ERR_UNSUPPORTED;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return MAMORI_ERR_NOMEM;
    s->h = h;
    s->cert = strdup(cert_pem);
    s->key = strdup(key_pem);
    if (s->cert == NULL || s->key == NULL) {
        payhost_server_stop(s);
        return MAMORI_ERR_NOMEM;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ERROR_LOG, port, NULL, NULL,
                            on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_HTTPS_MEM_CERT, s->cert, MHD_OPTION_HTTPS_MEM_KEY, s->key,
                            MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned int)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64, MHD_OPTION_END);
    if (s->d == NULL) {
        payhost_server_stop(s);
        return MAMORI_ERR_IO;
    }
    *ret = s;
    return 0;
}

uint16_t payhost_server_port(const struct payhost_server *s)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return i != NULL ? i->port : 0;
}

void payhost_server_stop(struct payhost_server *s)
{
    if (s == NULL)
        return;
    if (s->d != NULL)
        MHD_stop_daemon(s->d);
    if (s->key != NULL)
        secmem_wipe(s->key, strlen(s->key));
    free(s->key);
    free(s->cert);
    free(s);
}

/* cmd_devbroker.c - `hl7flow devbroker`: hosts librdkafka's mock Kafka
 * cluster (rdkafka_mock.h) on loopback with every topic from schemas/topics,
 * for the tests, the demo and the benchmarks.
 *
 * Start-up order is the contract scripts rely on: topics are created, the
 * control endpoints (if asked for) are listening, the bootstrap list is
 * printed as the first stdout line and only then written to
 * --bootstrap-file (temp file + rename), so whoever sees the file can use the
 * cluster at once. Then one "devbroker_ready" JSON line, and the process
 * idles until SIGTERM/SIGINT, removes its bootstrap file and exits 0.
 *
 * librdkafka 2.0.2's mock API has no way to choose broker ports: each broker
 * binds 127.0.0.1 port 0 (kernel-chosen). Read the port list from stdout or
 * the bootstrap file. Limits of the mock are in docs/devbroker.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "commands.h"
#include "hl7flow/stop.h"
#include "hl7flow/log.h"
#include "hl7flow/topics.h"
#include "devbroker_nodelay.h"

#define DB_MAX_BROKERS 32
#define DB_BODY_MAX 4096

typedef struct db_opts {
    int brokers;                /* 1..DB_MAX_BROKERS */
    const char *topics_path;    /* borrowed from argv or a literal */
    const char *bootstrap_file; /* NULL: none */
    long http_port;             /* -1: no control endpoints; 0: ephemeral */
} db_opts;

typedef struct db_state {
    rd_kafka_mock_cluster_t *mcluster;
    int nbrokers;
    int ports[DB_MAX_BROKERS]; /* index = broker id - 1 */
    bool up[DB_MAX_BROKERS];   /* our record; the mock API has no getter */
    pthread_mutex_t lock;      /* guards up[] against the HTTP thread */
} db_state;


static void usage(FILE *out) {
    fprintf(out,
            "usage: hl7flow devbroker [--brokers N] [--topics PATH] [--bootstrap-file PATH]\n"
            "                         [--http-port P] [--help]\n"
            "\n"
            "Hosts librdkafka's mock Kafka cluster on 127.0.0.1 with every topic of the\n"
            "topic list (replication factor min(3, N)) and runs until SIGTERM/SIGINT.\n"
            "\n"
            "  --brokers N           number of brokers, 1..%d (default 3)\n"
            "  --topics PATH         topic list (default schemas/topics)\n"
            "  --bootstrap-file PATH write the bootstrap list here once the topics exist\n"
            "                        (atomically: temp file + rename; removed on exit)\n"
            "  --http-port P         serve control endpoints on 127.0.0.1:P (0 = any port,\n"
            "                        logged as http_port in the devbroker_ready line):\n"
            "                          GET  /brokers            JSON list of brokers\n"
            "                          POST /brokers/<id>/down  close it, refuse connections\n"
            "                          POST /brokers/<id>/up    accept connections again\n"
            "                        (<id> is 1..N or \"all\"; POSTs answer with the list)\n"
            "                          POST /errors/<ApiKey>/<ErrorCode>/<count>\n"
            "                                                   fail the next <count> requests\n"
            "                                                   of that API with that error\n"
            "\n"
            "Output: the bootstrap list (host:port,...) as the first stdout line, then\n"
            "JSON log lines (\"devbroker_ready\" with brokers and topics counts).\n"
            "\n"
            "Ports: librdkafka 2.0.2 cannot choose the brokers' ports. They are ephemeral\n"
            "ports on 127.0.0.1: read the bootstrap file (or the first stdout line).\n"
            "\n"
            "Limits of the mock cluster in librdkafka 2.0.2 (observed; docs/devbroker.md):\n"
            "  - each partition keeps only about its last 5 MiB of records\n"
            "  - an idle fetch waits the full fetch.wait.max.ms (500 ms by default):\n"
            "    clients must set it low, e.g. KAFKA_FETCH_WAIT_MAX_MS=5\n"
            "  - read_committed consumers also see records of aborted and still open\n"
            "    transactions; offsets sent with send_offsets_to_transaction() are\n"
            "    accepted but never stored; a new producer with the same\n"
            "    transactional.id does not fence the old one\n"
            "  - topic configs (cleanup.policy=compact, retention.ms, ...) are ignored;\n"
            "    the admin API (CreateTopics, DescribeConfigs) gets no answer; unknown\n"
            "    topics are auto-created with 4 partitions\n"
            "  - a group's first join takes ~3 s, each rebalance ~5 s; a static member\n"
            "    (group.instance.id) that rejoins still causes a rebalance\n"
            "  - after /down + /up clients reconnect only after their backoff: fault\n"
            "    tests should set KAFKA_RECONNECT_BACKOFF_MAX_MS=1000\n",
            DB_MAX_BROKERS);
}

/* Parses a whole decimal string into [lo, hi]. */
static bool parse_long(const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Fills @p o from argv; returns 0, or 2 after printing why (1 for --help,
 * which the caller maps to exit status 0). */
static int parse_args(int argc, char **argv, db_opts *o) {
    o->brokers = 3;
    o->topics_path = "schemas/topics";
    o->bootstrap_file = NULL;
    o->http_port = -1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "devbroker: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        long n;
        if (strcmp(a, "--brokers") == 0) {
            if (!parse_long(v, 1, DB_MAX_BROKERS, &n)) {
                fprintf(stderr, "devbroker: --brokers must be 1..%d\n", DB_MAX_BROKERS);
                return 2;
            }
            o->brokers = (int)n;
        } else if (strcmp(a, "--topics") == 0) {
            o->topics_path = v;
        } else if (strcmp(a, "--bootstrap-file") == 0) {
            o->bootstrap_file = v;
        } else if (strcmp(a, "--http-port") == 0) {
            if (!parse_long(v, 0, 65535, &o->http_port)) {
                fprintf(stderr, "devbroker: --http-port must be 0..65535\n");
                return 2;
            }
        } else {
            fprintf(stderr, "devbroker: unknown option: %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    return 0;
}

/* Reads the broker ports from the mock's bootstrap list. The mock creates
 * brokers 1..N in order and lists them in that order. */
static bool parse_ports(const char *bootstraps, db_state *db) {
    const char *p = bootstraps;
    for (int i = 0; i < db->nbrokers; i++) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *colon = NULL;
        for (const char *q = p; q < end; q++)
            if (*q == ':')
                colon = q;
        if (colon == NULL)
            return false;
        db->ports[i] = atoi(colon + 1);
        db->up[i] = true;
        if (comma == NULL && i + 1 < db->nbrokers)
            return false;
        p = end + 1;
    }
    return true;
}

/* Writes "<bootstraps>\n" to @p path via a temp file in the same directory
 * and rename(2), so readers never see a partial file. */
static bool write_bootstrap_file(const char *path, const char *bootstraps) {
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return false;
    size_t len = strlen(bootstraps);
    bool ok = write(fd, bootstraps, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
              fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) == 0)
        return true;
    unlink(tmp);
    return false;
}

/* Removes @p path only if it still holds our list: a newer dev broker may
 * have replaced it. */
static void remove_bootstrap_file(const char *path, const char *bootstraps) {
    char buf[DB_BODY_MAX];
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    size_t len = strlen(bootstraps);
    if (n == len + 1 && memcmp(buf, bootstraps, len) == 0 && buf[len] == '\n')
        unlink(path);
}

/* ---- commands to the mock cluster ------------------------------------ */

/* librdkafka 2.0.2's mock thread sometimes misses the wake-up for a queued
 * command and serves it only at its next poll timeout, 1 s later (observed:
 * every third command), so creating the 11 topics of schemas/topics took
 * ~2 s. Any socket event wakes the thread too, and it serves its command
 * queue on every wake-up. So a command runs on a helper thread while the
 * caller opens and drops a non-blocking loopback connection to a listening
 * broker every 2 ms until it is done: start-up takes milliseconds. */

typedef enum { MOCK_TOPICS, MOCK_DOWN, MOCK_UP } mock_cmd;

typedef struct mock_job {
    rd_kafka_mock_cluster_t *mcluster;
    mock_cmd cmd;
    int32_t broker;              /* MOCK_DOWN/UP: id, -1 = all */
    const hf_topic_list *topics; /* MOCK_TOPICS */
    int replication;             /* MOCK_TOPICS */
    size_t failed_topic;         /* MOCK_TOPICS: index of the topic in err */
    rd_kafka_resp_err_t err;     /* result */
    atomic_int done;
} mock_job;

static void mock_job_run(mock_job *job) {
    job->err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (job->cmd == MOCK_DOWN) {
        job->err = rd_kafka_mock_broker_set_down(job->mcluster, job->broker);
    } else if (job->cmd == MOCK_UP) {
        job->err = rd_kafka_mock_broker_set_up(job->mcluster, job->broker);
    } else {
        for (size_t i = 0; i < job->topics->count && !job->err; i++) {
            const hf_topic_def *t = &job->topics->topics[i];
            job->err = rd_kafka_mock_topic_create(job->mcluster, t->name, t->partitions,
                                                  job->replication);
            job->failed_topic = i;
        }
    }
}

static void *mock_job_main(void *arg) {
    mock_job *job = arg;
    mock_job_run(job);
    atomic_store(&job->done, 1);
    return NULL;
}

/* Opens and drops a connection to 127.0.0.1:@p port without blocking. */
static void mock_nudge(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)connect(fd, (struct sockaddr *)&sin, sizeof sin); /* EINPROGRESS is fine */
    close(fd);
}

/* Runs @p job, nudging the mock through broker port @p nudge_port (0: no
 * broker is listening, just wait). Returns the command's result. */
static rd_kafka_resp_err_t mock_job_exec(mock_job *job, int nudge_port) {
    pthread_t tid;
    atomic_init(&job->done, 0);
    if (nudge_port <= 0 || pthread_create(&tid, NULL, mock_job_main, job) != 0) {
        mock_job_run(job);
        return job->err;
    }
    const struct timespec pause = {0, 2 * 1000 * 1000};
    for (;;) {
        nanosleep(&pause, NULL);
        if (atomic_load(&job->done))
            break;
        mock_nudge(nudge_port);
    }
    pthread_join(tid, NULL);
    return job->err;
}

/* A port of a broker that listens now and still will after @p cmd on
 * @p broker; 0 if there is none. Caller holds db->lock. */
static int nudge_port_for(const db_state *db, mock_cmd cmd, int32_t broker) {
    for (int i = 0; i < db->nbrokers; i++) {
        if (!db->up[i])
            continue;
        if (cmd == MOCK_DOWN && (broker == -1 || broker == i + 1))
            continue;
        return db->ports[i];
    }
    return 0;
}

/* ---- control endpoints ------------------------------------------------ */

/* JSON list of brokers into a malloc'd string. */
static char *brokers_json(db_state *db) {
    char *body = malloc(DB_BODY_MAX);
    if (body == NULL)
        return NULL;
    size_t off = 0;
    off += (size_t)snprintf(body + off, DB_BODY_MAX - off, "[");
    pthread_mutex_lock(&db->lock);
    for (int i = 0; i < db->nbrokers; i++)
        off += (size_t)snprintf(body + off, DB_BODY_MAX - off,
                                "%s{\"id\":%d,\"host\":\"127.0.0.1\",\"port\":%d,\"up\":%s}",
                                i ? "," : "", i + 1, db->ports[i], db->up[i] ? "true" : "false");
    pthread_mutex_unlock(&db->lock);
    snprintf(body + off, DB_BODY_MAX - off, "]\n"); /* 32 brokers fit easily */
    return body;
}

/* Handles POST /brokers/<id|all>/<down|up>; fills *status. Returns the
 * response body (malloc'd) or NULL on allocation failure. */
static char *broker_updown(db_state *db, const char *rest, unsigned *status) {
    char idbuf[16];
    const char *slash = strchr(rest, '/');
    if (slash == NULL || (size_t)(slash - rest) >= sizeof idbuf || slash == rest) {
        *status = MHD_HTTP_NOT_FOUND;
        return strdup("{\"error\":\"expected /brokers/<id>/down or /up\"}\n");
    }
    memcpy(idbuf, rest, (size_t)(slash - rest));
    idbuf[slash - rest] = '\0';
    bool down = strcmp(slash, "/down") == 0;
    if (!down && strcmp(slash, "/up") != 0) {
        *status = MHD_HTTP_NOT_FOUND;
        return strdup("{\"error\":\"expected /brokers/<id>/down or /up\"}\n");
    }
    long id;
    if (strcmp(idbuf, "all") == 0) {
        id = -1;
    } else if (!parse_long(idbuf, 1, db->nbrokers, &id)) {
        *status = MHD_HTTP_NOT_FOUND;
        return strdup("{\"error\":\"no such broker\"}\n");
    }
    mock_job job;
    memset(&job, 0, sizeof job);
    job.mcluster = db->mcluster;
    job.cmd = down ? MOCK_DOWN : MOCK_UP;
    job.broker = (int32_t)id;
    pthread_mutex_lock(&db->lock);
    int nudge = nudge_port_for(db, job.cmd, job.broker);
    pthread_mutex_unlock(&db->lock);
    rd_kafka_resp_err_t kerr = mock_job_exec(&job, nudge);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        HF_LOG(HF_LOG_ERROR, "devbroker_control_failed", HF_LI("broker", id),
               HF_LB("down", down), HF_LERR(rd_kafka_err2str(kerr)));
        *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        return strdup("{\"error\":\"mock cluster refused the change\"}\n");
    }
    pthread_mutex_lock(&db->lock);
    for (int i = 0; i < db->nbrokers; i++)
        if (id == -1 || id == i + 1)
            db->up[i] = !down;
    pthread_mutex_unlock(&db->lock);
    if (down)
        HF_LOG(HF_LOG_INFO, "devbroker_broker_down", HF_LI("broker", id));
    else
        HF_LOG(HF_LOG_INFO, "devbroker_broker_up", HF_LI("broker", id));
    *status = MHD_HTTP_OK;
    return brokers_json(db);
}

/* Handles POST /errors/<ApiKey>/<ErrorCode>/<count>: the next <count>
 * requests of that Kafka API (any broker) fail with that error code
 * (rd_kafka_mock_push_request_errors). Fault tests use it, e.g.
 * /errors/26/90/1 fences the next EndTxn (PRODUCER_FENCED). */
static char *push_errors(db_state *db, const char *rest, unsigned *status) {
    long key = -1, code = -1, count = -1;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", rest);
    char *save = NULL, *a = strtok_r(buf, "/", &save), *b = strtok_r(NULL, "/", &save),
         *c = strtok_r(NULL, "/", &save);
    if (a == NULL || b == NULL || c == NULL || strtok_r(NULL, "/", &save) != NULL ||
        !parse_long(a, 0, 1000, &key) || !parse_long(b, -200, 1000, &code) ||
        !parse_long(c, 1, 1000, &count)) {
        *status = MHD_HTTP_NOT_FOUND;
        return strdup("{\"error\":\"expected /errors/<ApiKey>/<ErrorCode>/<count>\"}\n");
    }
    rd_kafka_resp_err_t errs[1000];
    for (long i = 0; i < count; i++)
        errs[i] = (rd_kafka_resp_err_t)code;
    rd_kafka_mock_push_request_errors_array(db->mcluster, (int16_t)key, (size_t)count, errs);
    HF_LOG(HF_LOG_INFO, "devbroker_errors_pushed", HF_LI("api_key", key), HF_LI("error_code", code),
           HF_LI("count", count), HF_LID("error", rd_kafka_err2name((rd_kafka_resp_err_t)code)));
    *status = MHD_HTTP_OK;
    char *out = malloc(160);
    if (out != NULL)
        snprintf(out, 160, "{\"api_key\":%ld,\"error_code\":%ld,\"count\":%ld}\n", key, code, count);
    return out;
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls) {
    static int seen; /* marker: headers of this request already seen */
    db_state *db = cls;
    (void)version;
    (void)upload_data;

    if (*con_cls == NULL) {
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) { /* a body is not needed: discard it */
        *upload_data_size = 0;
        return MHD_YES;
    }

    unsigned status = MHD_HTTP_NOT_FOUND;
    char *body = NULL;
    bool is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    bool is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    if (strcmp(url, "/brokers") == 0) {
        if (is_get) {
            status = MHD_HTTP_OK;
            body = brokers_json(db);
        } else {
            status = MHD_HTTP_METHOD_NOT_ALLOWED;
            body = strdup("{\"error\":\"use GET\"}\n");
        }
    } else if (strncmp(url, "/errors/", 8) == 0) {
        if (is_post) {
            body = push_errors(db, url + 8, &status);
        } else {
            status = MHD_HTTP_METHOD_NOT_ALLOWED;
            body = strdup("{\"error\":\"use POST\"}\n");
        }
    } else if (strncmp(url, "/brokers/", 9) == 0) {
        if (is_post) {
            body = broker_updown(db, url + 9, &status);
        } else {
            status = MHD_HTTP_METHOD_NOT_ALLOWED;
            body = strdup("{\"error\":\"use POST\"}\n");
        }
    } else {
        body = strdup("{\"error\":\"not found\"}\n");
    }
    if (body == NULL)
        return MHD_NO; /* out of memory: MHD drops the connection */

    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static struct MHD_Daemon *http_start(db_state *db, long port) {
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            http_handle, db, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
                            MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
}

/* ---- main ------------------------------------------------------------ */

/* Set once the bootstrap line is out; read by librdkafka's threads. */
static volatile sig_atomic_t g_ready;

/* librdkafka's own log lines: plain text on stderr until the bootstrap list
 * is printed (it must be the first stdout line), JSON lines after. */
static void rk_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    if (!g_ready) {
        /* our handle is only the cluster's owner, it never connects */
        if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers") != NULL)
            return;
        fprintf(stderr, "devbroker: librdkafka %s: %s\n", fac, buf);
        return;
    }
    hf_log_level lvl = level <= 3 ? HF_LOG_ERROR : level <= 4 ? HF_LOG_WARN : HF_LOG_INFO;
    HF_LOG(lvl, "librdkafka", HF_LID("facility", fac), HF_LERR(buf));
}

int cmd_devbroker(int argc, char **argv) {
    db_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;

    hf_topic_list topics = {NULL, 0};
    hf_err err = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    struct MHD_Daemon *httpd = NULL;
    const char *bootstraps = NULL;
    bool wrote_file = false;
    char errstr[512];
    db_state db;
    memset(&db, 0, sizeof db);
    pthread_mutex_init(&db.lock, NULL);
    db.nbrokers = o.brokers;
    rc = 1;

    if (hf_topics_load(o.topics_path, &topics, &err) != HF_OK) {
        fprintf(stderr, "devbroker: %s\n", err.msg);
        goto out;
    }

    hf_stop_on_signals();

    conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, rk_log);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        fprintf(stderr, "devbroker: rd_kafka_new: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    conf = NULL; /* owned by rk now */

    db.mcluster = rd_kafka_mock_cluster_new(rk, o.brokers);
    if (db.mcluster == NULL) {
        fprintf(stderr, "devbroker: could not create the mock cluster (see log)\n");
        goto out;
    }
    bootstraps = rd_kafka_mock_cluster_bootstraps(db.mcluster);
    if (bootstraps == NULL || !parse_ports(bootstraps, &db)) {
        fprintf(stderr, "devbroker: unexpected bootstrap list from the mock cluster\n");
        goto out;
    }
    int replication = o.brokers < 3 ? o.brokers : 3;
    mock_job job;
    memset(&job, 0, sizeof job);
    job.mcluster = db.mcluster;
    job.cmd = MOCK_TOPICS;
    job.topics = &topics;
    job.replication = replication;
    if (mock_job_exec(&job, db.ports[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "devbroker: creating topic %s: %s\n", topics.topics[job.failed_topic].name,
                rd_kafka_err2str(job.err));
        goto out;
    }

    if (o.http_port >= 0) {
        httpd = http_start(&db, o.http_port);
        if (httpd == NULL) {
            fprintf(stderr, "devbroker: cannot serve control endpoints on 127.0.0.1:%ld\n",
                    o.http_port);
            goto out;
        }
    }

    printf("%s\n", bootstraps);
    fflush(stdout);
    g_ready = 1;
    if (o.bootstrap_file != NULL) {
        if (!write_bootstrap_file(o.bootstrap_file, bootstraps)) {
            fprintf(stderr, "devbroker: cannot write %s: %s\n", o.bootstrap_file,
                    strerror(errno));
            goto out;
        }
        wrote_file = true;
    }
    long http_port = -1;
    if (httpd != NULL) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(httpd, MHD_DAEMON_INFO_BIND_PORT);
        http_port = info != NULL ? (long)info->port : o.http_port;
    }
    HF_LOG(HF_LOG_INFO, "devbroker_ready", HF_LI("brokers", o.brokers),
           HF_LI("topics", topics.count), HF_LI("replication_factor", replication),
           HF_LI("http_port", http_port));

    /* New client connections get TCP_NODELAY within 5 ms of being accepted
     * (devbroker_nodelay.c explains why). */
    while (!hf_stop_requested()) {
        devbroker_nodelay_sweep();
        rd_kafka_poll(rk, 5); /* returns early on a signal or after 5 ms */
    }

    HF_LOG(HF_LOG_INFO, "devbroker_stopping", HF_LI("brokers", o.brokers));
    rc = 0;

out:
    if (httpd != NULL)
        MHD_stop_daemon(httpd);
    if (wrote_file)
        remove_bootstrap_file(o.bootstrap_file, bootstraps);
    if (db.mcluster != NULL)
        rd_kafka_mock_cluster_destroy(db.mcluster);
    if (rk != NULL)
        rd_kafka_destroy(rk);
    hf_topics_fini(&topics);
    pthread_mutex_destroy(&db.lock);
    return rc;
}

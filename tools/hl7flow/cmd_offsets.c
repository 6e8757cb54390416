/* cmd_offsets.c - `hl7flow offsets`: start and end offsets of topics,
 * summed over partitions, from the brokers (no records are read). The end
 * offset sum is the number of records ever written to the topic; on the dev
 * broker, which keeps only the last ~5 MiB per partition, it is the way to
 * count a topic whose head has been dropped. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_kafka.h"
#include "commands.h"
#include "hl7flow/kafka.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: hl7flow offsets --topic T[,T...]\n"
            "Prints {\"<topic>\":{\"partitions\":N,\"start\":S,\"end\":E},...}: S and E are the\n"
            "partitions' low and high watermarks summed; E counts every record written.\n");
}

int cmd_offsets(int argc, char **argv) {
    const char *topics = NULL;
    static const struct option opts[] = {{"topic", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': topics = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (topics == NULL) {
        fprintf(stderr, "offsets: --topic is required\n");
        return 2;
    }
    static const char *const defs[] = {"group.id", "hl7flow-offsets", NULL};
    rd_kafka_t *rk = cli_kafka_new(RD_KAFKA_CONSUMER, defs, NULL);
    if (rk == NULL)
        return 1;
    int rc = 0;
    char *list = strdup(topics), *save = NULL;
    printf("{");
    int n = 0;
    for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        int32_t ids[CLI_MAX_PARTITIONS];
        int nids = 0;
        rd_kafka_resp_err_t err =
            hf_kafka_topic_partitions(rk, t, 10000, ids, CLI_MAX_PARTITIONS, &nids);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "offsets: no metadata for topic %s: %s\n", t, rd_kafka_err2str(err));
            rc = 1;
            continue;
        }
        long long lo_sum = 0, hi_sum = 0;
        for (int p = 0; p < nids && p < CLI_MAX_PARTITIONS && rc == 0; p++) {
            int64_t lo = 0, hi = 0;
            err = rd_kafka_query_watermark_offsets(rk, t, ids[p], &lo, &hi, 10000);
            if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "offsets: %s [%d]: %s\n", t, (int)ids[p], rd_kafka_err2str(err));
                rc = 1;
            }
            lo_sum += lo;
            hi_sum += hi;
        }
        printf("%s\"%s\":{\"partitions\":%d,\"start\":%lld,\"end\":%lld}", n++ ? "," : "", t,
               nids, lo_sum, hi_sum);
    }
    printf("}\n");
    free(list);
    rd_kafka_destroy(rk);
    return rc;
}

/* replay_main.c - runs a libFuzzer target's stored inputs as ordinary
 * regression tests (SQLite's fuzzcheck idea): every file named on the command
 * line, or every file in each directory named, is passed once to
 * LLVMFuzzerTestOneInput. Built with gcc (and ASan in `make asan`), so
 * `make test` replays the whole corpus without clang. Prints
 * "replay: N passed, 0 failed"; a crash fails the process. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int main(int argc, char **argv) {
    long passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            replay_file(argv[i]) == 0 ? passed++ : failed++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            replay_file(path) == 0 ? passed++ : failed++;
        }
        if (d != NULL)
            closedir(d);
    }
    printf("replay: %ld passed, %ld failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

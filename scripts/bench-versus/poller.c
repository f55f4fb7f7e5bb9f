/*
 * The C reference poller on libmodbus: one connection per device, every
 * device's block of holding registers read once a second, the values
 * decoded (summed, so the compiler keeps the work), for a given time.
 *
 *   poller <first port> <devices> <registers per device> <seconds>
 *
 * Prints the registers read. Part of scripts/bench-versus.sh (issue 16).
 */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: poller <first port> <devices> <registers> <seconds>\n");
        return 2;
    }
    int first = atoi(argv[1]), devices = atoi(argv[2]), registers = atoi(argv[3]);
    double seconds = atof(argv[4]);
    if (registers < 1 || registers > 125 || devices < 1) {
        fprintf(stderr, "registers: 1 to 125 per device\n");
        return 2;
    }
    modbus_t **ctx = calloc((size_t)devices, sizeof *ctx);
    for (int d = 0; d < devices; d++) {
        ctx[d] = modbus_new_tcp("127.0.0.1", first + d);
        if (ctx[d] == NULL || modbus_connect(ctx[d]) == -1) {
            fprintf(stderr, "device %d: %s\n", d, modbus_strerror(errno));
            return 1;
        }
    }
    uint16_t values[125];
    unsigned long long read = 0, sum = 0, errors = 0;
    double start = now(), next = start;
    while (now() - start < seconds) {
        for (int d = 0; d < devices; d++) {
            int n = modbus_read_registers(ctx[d], 0, registers, values);
            if (n != registers) {
                errors++;
                continue;
            }
            for (int r = 0; r < n; r++) {
                sum += values[r];
            }
            read += (unsigned long long)n;
        }
        next += 1.0;
        double wait = next - now();
        if (wait > 0) {
            struct timespec t = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&t, NULL);
        }
    }
    printf("%llu registers read, %llu errors (checksum %llu)\n", read, errors, sum);
    return 0;
}

/*
 * A Modbus TCP device farm on libmodbus: one server per device on
 * consecutive loopback ports, all in one process, one thread, poll(2).
 * Every device has the same 250 holding registers, which change once a
 * second, so a poller reads fresh values.
 *
 *   farm <first port> <devices>
 *
 * Part of scripts/bench-versus.sh (issue 16): the same farm for every
 * poller measured.
 */
#include <errno.h>
#include <modbus.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 4096
#define REGISTERS 250

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: farm <first port> <devices>\n");
        return 2;
    }
    int first = atoi(argv[1]);
    int devices = atoi(argv[2]);
    if (devices < 1 || devices > 1000) {
        fprintf(stderr, "devices: 1 to 1000\n");
        return 2;
    }
    modbus_mapping_t *map = modbus_mapping_new(0, 0, REGISTERS, REGISTERS);
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", first);
    if (map == NULL || ctx == NULL) {
        fprintf(stderr, "libmodbus: %s\n", modbus_strerror(errno));
        return 1;
    }
    struct pollfd fds[MAX_FDS];
    int listeners = 0;
    for (int d = 0; d < devices; d++) {
        modbus_t *listen_ctx = modbus_new_tcp("127.0.0.1", first + d);
        int fd = modbus_tcp_listen(listen_ctx, 4);
        if (fd < 0) {
            fprintf(stderr, "port %d: %s\n", first + d, modbus_strerror(errno));
            return 1;
        }
        fds[listeners].fd = fd;
        fds[listeners].events = POLLIN;
        listeners++;
    }
    int count = listeners;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    time_t changed = 0;
    printf("farm ready: %d devices on 127.0.0.1:%d-%d\n", devices, first, first + devices - 1);
    fflush(stdout);
    for (;;) {
        time_t now = time(NULL);
        if (now != changed) {
            for (int r = 0; r < REGISTERS; r++) {
                map->tab_registers[r] = (uint16_t)(now + r);
                map->tab_input_registers[r] = (uint16_t)(now * 3 + r);
            }
            changed = now;
        }
        if (poll(fds, count, 1000) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return 1;
        }
        for (int i = 0; i < count; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            if (i < listeners) {
                int client = accept(fds[i].fd, NULL, NULL);
                if (client >= 0 && count < MAX_FDS) {
                    fds[count].fd = client;
                    fds[count].events = POLLIN;
                    fds[count].revents = 0;
                    count++;
                } else if (client >= 0) {
                    close(client);
                }
                continue;
            }
            modbus_set_socket(ctx, fds[i].fd);
            int rc = modbus_receive(ctx, query);
            if (rc > 0) {
                modbus_reply(ctx, query, rc, map);
            } else if (rc == -1) {
                close(fds[i].fd);
                fds[i] = fds[count - 1];
                count--;
                i--;
            }
        }
    }
}

/* One operation over blocking sockets: ./instance http://127.0.0.1:PORT [op [args-json]] */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "vpc_imds.h"

static uint64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}
static uint64_t u64_at(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; } /* little-endian hosts */

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s URL [op [args-json]]\n", argv[0]); return 2; }
  const char *op_name = argc > 2 ? argv[2] : "instance", *args = argc > 3 ? argv[3] : "";
  char settings[512], host[64] = "127.0.0.1", err[1024];
  int port = 80;
  sscanf(argv[1], "http://%63[^:/]:%d", host, &port);
  snprintf(settings, sizeof settings, "{\"endpoint\":\"%s\",\"timeout\":5}", argv[1]);
  size_t len = 0;
  VpcImds *m = vpc_imds_new((const uint8_t *)settings, strlen(settings), (uint64_t)time(NULL), (uint8_t *)err, sizeof err - 1, &len);
  if (!m) { fprintf(stderr, "%.*s\n", (int)(len < sizeof err ? len : sizeof err - 1), err); return 1; }
  int64_t op = vpc_imds_start(m, (const uint8_t *)op_name, strlen(op_name), (const uint8_t *)args, strlen(args), now_ms());
  if (op < 0) { const uint8_t *e = vpc_imds_output(m, &len); fprintf(stderr, "%.*s\n", (int)len, e); return 1; }
  int fd = -1, kind = VPC_IMDS_INPUT_TICK;
  uint8_t buf[16384];
  const uint8_t *in = NULL;
  size_t in_len = 0;
  for (;;) {
    int step = vpc_imds_step(m, (uint64_t)op, now_ms(), kind, in, in_len);
    const uint8_t *out = vpc_imds_output(m, &len);
    kind = VPC_IMDS_INPUT_TICK, in = NULL, in_len = 0;
    if (step == VPC_IMDS_SEND) {
      uint64_t left = u64_at(out + 16) > now_ms() ? u64_at(out + 16) - now_ms() : 1;
      if (out[24]) { /* fresh: connect first (one operation: one connection at a time) */
        if (fd >= 0) close(fd);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, host, &a.sin_addr);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { kind = VPC_IMDS_INPUT_FAILED, in = (const uint8_t *)"refused", in_len = 7; continue; }
      }
      struct timeval tv = {.tv_sec = (time_t)(left / 1000), .tv_usec = (suseconds_t)(left % 1000) * 1000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (write(fd, out + VPC_IMDS_SEND_HEADER, len - VPC_IMDS_SEND_HEADER) != (ssize_t)(len - VPC_IMDS_SEND_HEADER)) {
        kind = VPC_IMDS_INPUT_FAILED, in = (const uint8_t *)"connection_lost", in_len = 15;
      }
    } else if (step == VPC_IMDS_READ) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0) { kind = VPC_IMDS_INPUT_FAILED, in = (const uint8_t *)"response_timeout", in_len = 16; continue; }
      kind = VPC_IMDS_INPUT_BYTES, in = buf, in_len = (size_t)n;
    } else if (step == VPC_IMDS_CLOSE) {
      if (fd >= 0) close(fd);
      fd = -1;
    } else if (step == VPC_IMDS_BACKOFF || step == VPC_IMDS_AWAIT_TOKEN) {
      uint64_t until = u64_at(out), t = now_ms();
      if (until > t) usleep((useconds_t)((until - t) * 1000));
    } else if (step == VPC_IMDS_PAGE || step == VPC_IMDS_DONE) {
      fwrite(out + 1 + out[0], 1, len - 1 - out[0], stdout); /* skip the type name */
      putchar('\n');
      if (step == VPC_IMDS_DONE) break;
    } else { /* VPC_IMDS_FAILED or VPC_IMDS_MISUSE: the error record */
      fprintf(stderr, "%.*s\n", (int)len, out);
      vpc_imds_free(m);
      return 1;
    }
  }
  if (fd >= 0) close(fd);
  vpc_imds_free(m);
  return 0;
}

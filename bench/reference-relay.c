// The cheapest relay we know how to write, as a yardstick for the proxy
// benchmark: every byte crosses two loopback TCP connections, as through
// srt, but with no policy, no HTTP, no event loop: a blocking thread per
// direction. `splice` moves pages through a pipe; `copy` reads and writes a
// 256 KiB buffer. Listens on 127.0.0.1 (an ephemeral port, printed on
// stdout) and forwards every connection to 127.0.0.1:<target port>.
//
//   cc -O2 -pthread reference-relay.c -o reference-relay
//   reference-relay splice|copy <target port>
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int use_splice;

struct direction {
  int from, to;
  int *left; // directions still running; the last one closes both sockets
};

static void splice_pump(int from, int to) {
  int p[2];
  if (pipe(p) != 0) return;
  fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  for (;;) {
    ssize_t n = splice(from, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE);
    if (n <= 0) break;
    while (n > 0) {
      ssize_t m = splice(p[0], NULL, to, NULL, (size_t)n, SPLICE_F_MOVE);
      if (m <= 0) goto out;
      n -= m;
    }
  }
out:
  close(p[0]);
  close(p[1]);
}

static void copy_pump(int from, int to) {
  static __thread char buf[256 * 1024];
  for (;;) {
    ssize_t n = read(from, buf, sizeof buf);
    if (n <= 0) return;
    for (char *b = buf; n > 0;) {
      ssize_t m = write(to, b, (size_t)n);
      if (m <= 0) return;
      n -= m;
      b += m;
    }
  }
}

static void *pump(void *arg) {
  struct direction d = *(struct direction *)arg;
  free(arg);
  if (use_splice) splice_pump(d.from, d.to);
  else copy_pump(d.from, d.to);
  shutdown(d.to, SHUT_WR);
  if (__atomic_sub_fetch(d.left, 1, __ATOMIC_ACQ_REL) == 0) {
    close(d.from);
    close(d.to);
    free(d.left);
  }
  return NULL;
}

static void start(int from, int to, int *left) {
  struct direction *d = malloc(sizeof *d);
  pthread_t t;
  d->from = from;
  d->to = to;
  d->left = left;
  if (pthread_create(&t, NULL, pump, d) == 0) pthread_detach(t);
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "splice") && strcmp(argv[1], "copy"))) {
    fprintf(stderr, "usage: %s splice|copy <target port>\n", argv[0]);
    return 2;
  }
  use_splice = !strcmp(argv[1], "splice");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0 || bind(listener, (struct sockaddr *)&addr, len) || listen(listener, 64) ||
      getsockname(listener, (struct sockaddr *)&addr, &len)) {
    perror("listen");
    return 1;
  }
  printf("%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  struct sockaddr_in target = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                               .sin_port = htons((unsigned short)atoi(argv[2]))};
  for (;;) {
    int client = accept(listener, NULL, NULL);
    if (client < 0) continue;
    int upstream = socket(AF_INET, SOCK_STREAM, 0);
    if (upstream < 0 || connect(upstream, (struct sockaddr *)&target, sizeof target)) {
      close(client);
      if (upstream >= 0) close(upstream);
      continue;
    }
    int *left = malloc(sizeof *left);
    *left = 2;
    start(client, upstream, left);
    start(upstream, client, left);
  }
}

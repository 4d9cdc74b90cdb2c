/*
 * replay: send the ClientHellos of a recorded `tlsfloor probe --ciphers` run
 * (testdata/bench/floor/record) to 127.0.0.1:PORT on the recorded
 * schedule, from one thread with epoll, and exit when every connection has
 * had its answer. Connection i is opened, in recorded order, once as many
 * connections have ended as had ended when tlsfloor opened it.
 *
 * It is the floor of any client making the same handshakes: the server does
 * the same work, and the client does nothing but the system calls. Built by
 * testdata/bench/probe.sh when a C compiler is installed; not part of
 * tlsfloor.
 *
 * Usage: replay SCHEDULE PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXCONN 1024

static int need[MAXCONN], hlen[MAXCONN];
static unsigned char *hello[MAXCONN];
static int got[65536];

static int hexval(int c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: replay SCHEDULE PORT\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	int n = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0 && n < MAXCONN) {
		char *sp = strchr(line, ' ');
		if (!sp) continue;
		need[n] = atoi(line);
		char *h = sp + 1;
		int l = 0;
		hello[n] = malloc(strlen(h) / 2 + 1);
		for (; hexval(h[0]) >= 0 && hexval(h[1]) >= 0; h += 2) hello[n][l++] = hexval(h[0]) << 4 | hexval(h[1]);
		hlen[n++] = l;
	}
	struct sockaddr_in addr = {0};
	addr.sin_family = AF_INET;
	addr.sin_port = htons(atoi(argv[2]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int next = 0, ended = 0;
	unsigned char buf[65536];
	while (ended < n) {
		while (next < n && need[next] <= ended) {
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			struct linger lg = {1, 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			if (fd < 0 || fd >= 65536 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
				perror("connect");
				return 1;
			}
			fcntl(fd, F_SETFL, O_NONBLOCK);
			if (write(fd, hello[next], hlen[next]) != hlen[next]) {
				perror("write");
				return 1;
			}
			struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			got[fd] = 0;
			next++;
		}
		struct epoll_event evs[32];
		int k = epoll_wait(ep, evs, 32, 5000);
		if (k <= 0) {
			fprintf(stderr, "replay: no answer within 5 s (%d of %d ended)\n", ended, n);
			return 1;
		}
		for (int i = 0; i < k; i++) {
			int fd = evs[i].data.fd;
			ssize_t r = read(fd, buf, sizeof buf);
			if (r < 0 && errno == EAGAIN) continue;
			if (r > 0) {
				/* The answer has come once reads returned a record
				 * header's 5 bytes (on loopback the server's flight
				 * arrives in one piece), or the server closed. */
				got[fd] += r;
				if (got[fd] < 5) continue;
			}
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			close(fd);
			ended++;
		}
	}
	return 0;
}

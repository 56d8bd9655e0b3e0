/* sock.h: listening sockets (unix, IPv4, IPv6) and spawned-mode detection */
/* SPDX-License-Identifier: MIT */
#ifndef SOCK_H
#define SOCK_H

/* Bind and listen on "unix:/p", "/p", "host:port" or "[v6]:port"; fd or -1 (logged). */
int sock_listen(const char *spec, unsigned mode, unsigned backlog);
/* Close fd and remove a unix socket file we created (spec as given to sock_listen). */
void sock_close(int fd, const char *spec);
/* 1 when fd is a listening socket handed to us (FastCGI spawned mode). */
int sock_is_listener(int fd);
/* 1 when fd is any socket. */
int sock_is_socket(int fd);

#endif

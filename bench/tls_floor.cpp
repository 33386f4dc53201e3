// pollster_tls_floor: the floor under any HTTPS poller's cost per request
// (issue 14). A closed-loop client, one thread: C kept-alive TLS
// connections, each sends the request `pollster load` sends (a GetAsyncResult
// POST), reads one answer, sends the next. What it does per request is what
// no client can skip: OpenSSL's record layer, the socket system calls, epoll,
// and the least framing (the end of the header block, Content-Length, the
// body's bytes). No JSON, no header parsing beyond that, no allocation of
// its own, no event library: whatever pollster or wrk spend beyond this is
// theirs, not TLS's.
//
// usage: pollster_tls_floor https://127.0.0.1:PORT/path SECONDS CONNECTIONS
// prints {"requests": N, "requests_per_s": R, "tls": "TLSv1.2"} (the first two
// are the fields of pollster's --json); bad arguments exit 2, any other
// error prints a message on stderr and exits 1. No certificate verification
// (loopback bench only).
//
// TLS 1.2 or 1.3, whichever the server picks, as pollster's context allows:
// the floor has to pay for the protocol the clients it is compared with pay
// for. (bench/compare's nginx 1.22 offers TLS 1.2 only: its default
// ssl_protocols has no TLSv1.3.) The version is in the output.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

[[noreturn]] void die(const char* what, const char* detail = nullptr) {
  std::fprintf(stderr, "pollster_tls_floor: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    std::fprintf(stderr, "  openssl: %s\n", buf);
  }
  std::exit(1);
}

double now_s() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

// The same bytes as pollster's request_encoder (user admin, password admin,
// as bench/compare runs it; pollster's handle and id vary, their digits do
// not change the cost) and as bench/compare's post.lua sends through wrk.
constexpr char body[] = R"({"method":"GetAsyncResult","params":{"asyncHandle":389,"keepResult":true},"id":1})";
char request[1024];
int request_len = 0;

// ready: handshake done, waiting for the others before the first request.
enum class state { connecting, handshake, ready, writing, reading };

struct conn {
  int fd = -1;
  SSL* ssl = nullptr;
  state st = state::connecting;
  unsigned events = 0;    // what epoll waits for on fd
  int have = 0;           // plaintext bytes of the current answer in buf
  int scanned = 0;        // where the first header line not yet whole starts
  int head_end = 0;       // 0 until the header block's end is found
  int content_length = -1;
  int total = 0;          // header block + Content-Length, once known
  char buf[16384];
};

int ep = -1;
long long requests = 0;
long established = 0;
const char* tls_version = "none";

constexpr unsigned in = EPOLLIN, in_out = EPOLLIN | EPOLLOUT;

void set_events(conn& c, unsigned events) {
  if (c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &c;
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev) != 0) die("epoll_ctl", std::strerror(errno));
  c.events = events;
}

// After an SSL call returned r <= 0: wait for the socket, or die. Every
// error ends the process, so OpenSSL's error queue is empty before each
// call, as SSL_get_error needs, without an ERR_clear_error per call (about
// 840 Ir each in OpenSSL 3.0).
void wait_or_die(conn& c, int r, const char* during) {
  switch (SSL_get_error(c.ssl, r)) {
    case SSL_ERROR_WANT_READ: set_events(c, in); return;
    case SSL_ERROR_WANT_WRITE: set_events(c, in_out); return;
    case SSL_ERROR_ZERO_RETURN: die(during, "the server closed the connection (close_notify)");
    case SSL_ERROR_SYSCALL: die(during, errno ? std::strerror(errno) : "the server closed the connection");
    default: die(during, "TLS error");
  }
}

bool ieq(const char* a, const char* lower, int n) {
  for (int i = 0; i < n; ++i) {
    char ch = a[i];
    if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
    if (ch != lower[i]) return false;
  }
  return true;
}

// The least framing: where the header block ends and what Content-Length
// says, line by line (memchr to each '\n': a header block is a few lines).
// Returns false while the header block is incomplete.
bool frame(conn& c) {
  const char* p = c.buf + c.scanned;
  const char* const lim = c.buf + c.have;
  for (;;) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', size_t(lim - p)));
    if (!nl) {
      c.scanned = int(p - c.buf);  // from the start of the incomplete line
      if (c.have == int(sizeof c.buf)) die("the answer's header block is larger than 16 KiB");
      return false;
    }
    const long len = nl - p;  // without the '\n'
    if (p == c.buf) {
      if (len < 12 || std::memcmp(p, "HTTP/1.1 200", 12) != 0) die("the server did not answer HTTP/1.1 200");
    } else if (len == 1 && *p == '\r') {
      if (c.content_length < 0) die("the answer has no Content-Length (chunked answers are not read)");
      c.head_end = int(nl + 1 - c.buf);
      if (c.head_end + c.content_length > int(sizeof c.buf)) die("the answer is larger than 16 KiB");
      c.total = c.head_end + c.content_length;
      return true;
    } else if (len > 15 && (*p == 'c' || *p == 'C') && ieq(p, "content-length:", 15)) {
      const char* d = p + 15;
      while (*d == ' ' || *d == '\t') ++d;
      const char* const digits = d;
      long n = 0;
      while (*d >= '0' && *d <= '9' && n < (1 << 20)) n = n * 10 + (*d++ - '0');
      if (d == digits || (*d != '\r' && *d != ' ' && *d != '\t')) die("the answer's Content-Length is not a number");
      c.content_length = int(n);
    }
    p = nl + 1;
  }
}

// Whatever the socket allows now, for connection c, in its current state.
void step(conn& c) {
  for (;;) {
    switch (c.st) {
      case state::connecting: {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) die("getsockopt", std::strerror(errno));
        if (err == EINPROGRESS) return;
        if (err != 0) die("connect", std::strerror(err));
        c.st = state::handshake;
        break;
      }
      case state::handshake: {
        const int r = SSL_connect(c.ssl);
        if (r != 1) return wait_or_die(c, r, "TLS handshake");
        tls_version = SSL_get_version(c.ssl);  // a static string
        ++established;
        c.st = state::ready;
        // Nothing until all are established: a TLS 1.3 server's session
        // tickets, arriving now, would keep a level-triggered EPOLLIN firing.
        return set_events(c, 0);
      }
      case state::ready:
        return;  // nothing to do until all are established
      case state::writing: {
        // The whole request or nothing (no partial writes): on WANT_WRITE
        // the same call is repeated with the same buffer.
        const int r = SSL_write(c.ssl, request, request_len);
        if (r <= 0) return wait_or_die(c, r, "SSL_write");
        c.have = c.scanned = c.head_end = c.total = 0;
        c.content_length = -1;
        c.st = state::reading;
        // The answer cannot be there yet: wait for it instead of an
        // SSL_read that can only say WANT_READ (unless read ahead).
        if (!SSL_has_pending(c.ssl)) return set_events(c, in);
        break;
      }
      case state::reading: {
        const int room = int(sizeof c.buf) - c.have;
        const int r = SSL_read(c.ssl, c.buf + c.have, room);
        if (r <= 0) return wait_or_die(c, r, "SSL_read");
        c.have += r;
        if (c.head_end == 0 && !frame(c)) break;
        if (c.have < c.total) break;
        if (c.have > c.total || SSL_has_pending(c.ssl))
          die("the server sent more than one answer per request");
        ++requests;
        c.st = state::writing;
        break;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: pollster_tls_floor https://127.0.0.1:PORT/path SECONDS CONNECTIONS\n");
    return 2;
  }
  // The URL: https://IPV4[:PORT]/path. A loopback bench needs no resolver.
  const char* url = argv[1];
  if (std::strncmp(url, "https://", 8) != 0) die("the URL must start with https://", url);
  const char* authority = url + 8;
  const char* path = std::strchr(authority, '/');
  if (!path) die("the URL has no path", url);
  char host[64];
  const int authority_len = int(path - authority);
  if (authority_len <= 0 || authority_len >= int(sizeof host)) die("bad host in URL", url);
  std::memcpy(host, authority, size_t(authority_len));
  host[authority_len] = '\0';
  int port = 443;
  if (char* colon = std::strchr(host, ':')) {
    *colon = '\0';
    char* e;
    const long p = std::strtol(colon + 1, &e, 10);
    if (*e != '\0' || p <= 0 || p > 65535) die("bad port in URL", url);
    port = int(p);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) die("the host must be an IPv4 address", host);

  char* e;
  const double seconds = std::strtod(argv[2], &e);
  if (*e != '\0' || !(seconds > 0) || seconds > 86400) die("bad SECONDS", argv[2]);
  const long connections = std::strtol(argv[3], &e, 10);
  if (*e != '\0' || connections <= 0 || connections > 10000) die("bad CONNECTIONS", argv[3]);

  // The Host field as pollster writes it: the URL's authority verbatim
  // (the port is in it unless it is 443).
  request_len = std::snprintf(request, sizeof request,
                              "POST %s HTTP/1.1\r\nHost: %.*s\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\n"
                              "Content-Type: application/json-rpc\r\nAccept: application/json\r\n"
                              "Content-Length: %zu\r\n\r\n%s",
                              path, authority_len, authority, sizeof body - 1, body);
  if (request_len <= 0 || request_len >= int(sizeof request)) die("the path is too long", path);

  // The socket BIO writes with write(): a server that goes away must give
  // EPIPE (a message), not kill the process.
  signal(SIGPIPE, SIG_IGN);

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) die("SSL_CTX_new");
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) die("SSL_CTX_set_min_proto_version");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  // One recv takes a whole answer (all its records), as in pollster's
  // tls_session. No SSL_MODE_RELEASE_BUFFERS: that reallocates the record
  // buffers around every idle moment, i.e. per request.
  SSL_CTX_set_read_ahead(ctx, 1);

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1", std::strerror(errno));

  // Level-triggered: a connection in a closed loop waits for one thing at a
  // time, and stops reading once its answer is complete. Edge-triggered
  // would demand reading until EAGAIN after every event, i.e. one more
  // SSL_read per request that can only say WANT_READ. Once the loop runs,
  // EPOLLIN stays registered; EPOLLOUT is added only while a write waits
  // (no epoll_ctl per request).
  conn* conns = new conn[size_t(connections)];
  for (long i = 0; i < connections; ++i) {
    conn& c = conns[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) die("socket", std::strerror(errno));
    const int one = 1;
    if (setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("TCP_NODELAY", std::strerror(errno));
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)
      die("connect", std::strerror(errno));
    c.ssl = SSL_new(ctx);
    if (!c.ssl || !SSL_set_fd(c.ssl, c.fd)) die("SSL_new");
    SSL_set_connect_state(c.ssl);
    c.st = state::connecting;
    c.events = in_out;
    epoll_event ev{};
    ev.events = in_out;
    ev.data.ptr = &c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) != 0) die("epoll_ctl", std::strerror(errno));
  }

  // All connections are established first, then all start at once and the
  // duration counts from there: each run then holds every handshake whole
  // and only the closed loop after them, so that the difference of two runs
  // of different lengths (bench/compare --callgrind) is the loop's cost
  // alone. Under valgrind, 16 handshakes take seconds.
  constexpr double handshake_limit_s = 60;
  double start = now_s();
  double deadline = start + handshake_limit_s;
  bool running = false;
  epoll_event events[256];
  for (;;) {
    if (!running && established == connections) {
      running = true;
      start = now_s();
      deadline = start + seconds;
      for (long i = 0; i < connections; ++i) {
        conns[i].st = state::writing;
        step(conns[i]);
      }
    }
    const double left = deadline - now_s();
    if (left <= 0) {
      if (!running) {
        std::fprintf(stderr, "pollster_tls_floor: %ld of %ld connections established in %.0f s\n", established,
                     connections, handshake_limit_s);
        return 1;
      }
      break;
    }
    const int n = epoll_wait(ep, events, 256, int(left * 1000) + 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait", std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      // EPOLLERR/EPOLLHUP too: the next connect check, SSL_connect,
      // SSL_write or SSL_read reports the failure.
      step(*static_cast<conn*>(events[i].data.ptr));
    }
  }
  const double elapsed = now_s() - start;
  std::printf("{\"requests\": %lld, \"requests_per_s\": %.3f, \"tls\": \"%s\"}\n", requests,
              double(requests) / elapsed, tls_version);

  for (long i = 0; i < connections; ++i) {
    SSL_free(conns[i].ssl);
    close(conns[i].fd);
  }
  delete[] conns;
  close(ep);
  SSL_CTX_free(ctx);
  return 0;
}

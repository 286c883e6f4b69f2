/*
 * The card socket's record guard as a small program (smartcard/cardRecordRelay.ts runs it): the
 * cage's connections to a level's PKCS#11 proxy relayed byte for byte, without a Node stream's
 * read and write on each hop (bench/RESULTS.md: most of the guard's CPU per relayed call).
 *
 * It parses only what recordGuard.ts's RecordMarks parses: the 4-byte ONC RPC record marks (a
 * record over MAX_RECORD_BYTES from the cage ends that connection before a byte of it goes on), and
 * the first bytes of each record for the journal (cardReplyJournal.ts). It opens, binds and
 * connects nothing: the Node side accepts the cage's connection and gets the proxy's (the cloison
 * part: from the cage manager), and hands both over; it runs as the Node side's uid.
 *
 * Descriptors (fd 3): a cage connection then its proxy connection, each with one byte (SCM_RIGHTS,
 * descriptorPassing.ts's sendDescriptor); the n-th pair is connection n.
 * Commands (fd 4), reports (fd 5): a 12-byte header (kind, 3 zero bytes, u32 connection, u32
 * length; little-endian) then `length` bytes.
 *   commands: 'I' a call record of the supervisor's (its mark included) for the proxy; its reply
 *             comes back as 'A', never to the cage; 'R' the held reply goes on; 'C' close.
 *   reports:  'J'/'H' a watched call's head and its reply's (length = call head bytes << 16 | reply
 *             head bytes): 'H' when the reply is a refusal, held until 'R' (the journal may ask
 *             first, the cage waiting); 'A' the answer to 'I' (its record body, at most
 *             INJECTED_REPLY_BYTES; length 0xffffffff: none, the connection was not quiet); 'X' the
 *             connection closed (length 1: the cage sent a record over the bound; 2: it
 *             pipelined its calls, see PENDING).
 * Usage: cardRecordRelay MAX_RECORD_BYTES LOGIN_PROCEDURE WATCHED_PROCEDURE...
 * Exits when the command stream closes (the Node side gone), every connection with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DESCRIPTORS_FD 3
#define COMMANDS_FD 4
#define REPORTS_FD 5
#define MAX_CONNECTIONS 64
#define MAX_WATCHED 64
#define HEAD_BYTES 128
/* The bytes of a reply read before deciding where it goes: xid, reply, verifier (AUTH_NONE), accept state, the return value. */
#define DECIDE_BYTES 32
/* A held reply longer than this goes on unheld (the journal's question then comes too late: unnamed). */
#define HOLD_MAX (64 * 1024)
#define INJECTED_REPLY_BYTES 1024
#define MAX_INJECTED 4096
/*
 * Calls awaiting their reply per connection. A PKCS#11 client waits for each reply and numbers its
 * calls: a cage sending more, or reusing the number (xid) of a call still awaiting its reply, could
 * make the journal pair a reply with another call (a failed login journaled as a success, or not at
 * all); such a connection is ended before a byte of the offending chunk goes on.
 */
#define PENDING 8
#define FED 1
#define OVERSIZE 0
#define PIPELINED (-1)
#define CHUNK 65536
#define LAST_FRAGMENT 0x80000000u

static uint32_t maxRecordBytes;
static uint32_t loginProcedure;
static uint32_t watched[MAX_WATCHED];
static int watchedCount;

/* Bytes read from one side and not yet written to the other. */
struct pending {
  uint8_t *bytes;
  size_t start, end, capacity;
};

/* The cage's records: bounded, their first bytes kept. */
struct calls {
  int64_t remaining; /* -1: a mark is next */
  uint8_t mark[4];
  int markLength;
  uint64_t recordBytes;
  int last;
  uint8_t head[HEAD_BYTES];
  int headLength;
};

enum disposition { TO_CAGE, TO_NODE, TO_HOLD };

/* The proxy's records: where each goes is decided on its first DECIDE_BYTES. */
struct replies {
  int64_t remaining;
  uint8_t mark[4];
  int markLength;
  int last;
  int deciding; /* the first fragment's first bytes being gathered */
  int firstFragment;
  uint8_t early[4 + DECIDE_BYTES]; /* the mark and first bytes, while deciding */
  int earlyLength;
  enum disposition where;
  uint8_t head[HEAD_BYTES];
  int headLength;
  int watchedIndex;
  int refusal;
};

/* A call of the cage's awaiting its reply (every call, watched or not: an xid is never reused while one waits). */
struct watchedCall {
  uint32_t xid, procedure;
  uint8_t head[HEAD_BYTES];
  int headLength;
  int used;
  int watched;
};

struct connection {
  int used;
  uint32_t id;
  int cage, proxy;
  uint32_t cageEvents, proxyEvents;
  struct calls in;
  struct replies out;
  struct pending toProxy, toCage;
  uint64_t outstanding; /* the cage's calls not yet answered */
  struct watchedCall pending[PENDING];
  int injecting; /* the proxy's next record is the answer to 'I' */
  uint8_t injected[INJECTED_REPLY_BYTES];
  size_t injectedLength;
  int held; /* a refusal waits for 'R' */
  struct pending hold; /* the refusal's record, while it is read and held */
  struct pending unparsed; /* what the proxy sent after it, read again on 'R' */
};

static struct connection connections[MAX_CONNECTIONS];
static int epfd;
static uint32_t nextId;
static int awaitingProxyFor = -1; /* a cage's descriptor came, its proxy's not yet */

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void writeAll(int fd, const void *data, size_t length) {
  const uint8_t *p = data;
  while (length > 0) {
    ssize_t n = write(fd, p, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0); /* the Node side gone */
    p += n;
    length -= (size_t)n;
  }
}

/* One report, in one write (header and both parts). */
static void report(char kind, uint32_t id, uint32_t length, const void *a, size_t aLength, const void *b, size_t bLength) {
  uint8_t message[12 + 2 * INJECTED_REPLY_BYTES];
  message[0] = (uint8_t)kind;
  message[1] = message[2] = message[3] = 0;
  memcpy(message + 4, &id, 4);
  memcpy(message + 8, &length, 4);
  if (aLength) memcpy(message + 12, a, aLength);
  if (bLength) memcpy(message + 12 + aLength, b, bLength);
  writeAll(REPORTS_FD, message, 12 + aLength + bLength);
}

static int append(struct pending *p, const uint8_t *data, size_t length) {
  if (length == 0) return 0;
  if (p->start == p->end) p->start = p->end = 0;
  if (p->end + length > p->capacity) {
    if (p->start > 0) {
      memmove(p->bytes, p->bytes + p->start, p->end - p->start);
      p->end -= p->start;
      p->start = 0;
    }
    if (p->end + length > p->capacity) {
      size_t capacity = p->capacity ? p->capacity : 4096;
      while (capacity < p->end + length) capacity *= 2;
      uint8_t *grown = realloc(p->bytes, capacity);
      if (!grown) return -1;
      p->bytes = grown;
      p->capacity = capacity;
    }
  }
  memcpy(p->bytes + p->end, data, length);
  p->end += length;
  return 0;
}

static void release(struct pending *p) {
  free(p->bytes);
  memset(p, 0, sizeof *p);
}

static int isWatched(uint32_t procedure) {
  for (int i = 0; i < watchedCount; i++)
    if (watched[i] == procedure) return 1;
  return 0;
}

/* `why`: 0, or what the cage did (1 a record over the bound, 2 pipelined calls), in the 'X' report. */
static void closeConnection(struct connection *c, int why) {
  if (!c->used) return;
  /* Out of the epoll set first: the Node side's copies of the descriptors may not be closed yet. */
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->cage, NULL);
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->proxy, NULL);
  close(c->cage);
  close(c->proxy);
  release(&c->toProxy);
  release(&c->toCage);
  release(&c->hold);
  release(&c->unparsed);
  uint32_t id = c->id;
  int injecting = c->injecting;
  memset(c, 0, sizeof *c);
  if (injecting) report('A', id, 0xffffffffu, NULL, 0, NULL, 0);
  report('X', id, (uint32_t)why, NULL, 0, NULL, 0);
}

static int findWatched(struct connection *c, uint32_t xid);

/* Reads what the cage sent: FED, or OVERSIZE / PIPELINED (the connection must end). Every byte is checked before any goes on. */
static int feedCalls(struct connection *c, const uint8_t *p, size_t n) {
  struct calls *m = &c->in;
  size_t i = 0;
  while (i < n) {
    if (m->remaining < 0) {
      m->mark[m->markLength++] = p[i++];
      if (m->markLength < 4) continue;
      uint32_t mark = be32(m->mark);
      m->markLength = 0;
      m->last = (mark & LAST_FRAGMENT) != 0;
      m->remaining = mark & ~LAST_FRAGMENT;
      m->recordBytes += (uint64_t)m->remaining;
      if (m->recordBytes > maxRecordBytes) return OVERSIZE;
    } else {
      size_t take = n - i < (uint64_t)m->remaining ? n - i : (size_t)m->remaining;
      if (m->headLength < HEAD_BYTES) {
        size_t room = (size_t)(HEAD_BYTES - m->headLength), kept = room < take ? room : take;
        memcpy(m->head + m->headLength, p + i, kept);
        m->headLength += (int)kept;
      }
      i += take;
      m->remaining -= (int64_t)take;
    }
    if (m->remaining != 0) continue;
    m->remaining = -1;
    if (!m->last) continue;
    /* A whole call: one more awaiting its reply, paired with it by its xid (unique while it waits). */
    c->outstanding++;
    if (m->headLength >= 4) {
      uint32_t xid = be32(m->head);
      struct watchedCall *w = NULL;
      for (int k = 0; k < PENDING && !w; k++)
        if (!c->pending[k].used) w = &c->pending[k];
      if (!w || findWatched(c, xid) >= 0) return PIPELINED;
      w->used = 1;
      w->xid = xid;
      w->watched = m->headLength >= 24 && isWatched(be32(m->head + 20));
      w->procedure = m->headLength >= 24 ? be32(m->head + 20) : 0;
      w->headLength = w->watched ? m->headLength : 0;
      if (w->watched) memcpy(w->head, m->head, (size_t)m->headLength);
    }
    m->recordBytes = 0;
    m->headLength = 0;
  }
  return FED;
}

static int findWatched(struct connection *c, uint32_t xid) {
  for (int k = 0; k < PENDING; k++)
    if (c->pending[k].used && c->pending[k].xid == xid) return k;
  return -1;
}

/* Where a reply goes, from its first bytes (xid, then AUTH_NONE's verifier, accept state, return value). */
static void decide(struct connection *c) {
  struct replies *r = &c->out;
  const uint8_t *body = r->early + 4;
  int length = r->earlyLength - 4;
  r->watchedIndex = -1;
  r->refusal = 0;
  r->where = c->injecting ? TO_NODE : TO_CAGE;
  if (c->injecting || length < 4) return;
  r->watchedIndex = findWatched(c, be32(body));
  if (r->watchedIndex < 0 || !c->pending[r->watchedIndex].watched) return;
  /* A refusal: reply, accepted, AUTH_NONE verifier, SUCCESS, a return value other than CKR_OK. */
  r->refusal = length >= DECIDE_BYTES && be32(body + 4) == 1 && be32(body + 8) == 0 && be32(body + 16) == 0 && be32(body + 20) == 0 &&
               (be32(body + 24) != 0 || be32(body + 28) != 0);
  if (r->refusal) r->where = TO_HOLD;
}

/* A reply's bytes (marks included) on their way: to the cage, or held. */
static int emitBytes(struct connection *c, const uint8_t *p, size_t n) {
  struct replies *r = &c->out;
  if (n == 0 || r->where == TO_NODE) return 0;
  if (r->where == TO_HOLD) {
    if (c->hold.end - c->hold.start + n <= HOLD_MAX) return append(&c->hold, p, n);
    /* Too long to hold: what was held and the rest go on, the refusal journaled unheld. */
    if (append(&c->toCage, c->hold.bytes + c->hold.start, c->hold.end - c->hold.start) != 0) return -1;
    c->hold.start = c->hold.end = 0;
    r->where = TO_CAGE;
  }
  return append(&c->toCage, p, n);
}

/* A reply's end: the journal's report, the injected answer, the hold. */
static void endReply(struct connection *c) {
  struct replies *r = &c->out;
  if (r->where == TO_NODE) {
    c->injecting = 0;
    report('A', c->id, (uint32_t)c->injectedLength, c->injected, c->injectedLength, NULL, 0);
    c->injectedLength = 0;
  } else {
    if (c->outstanding > 0) c->outstanding--;
    if (r->watchedIndex >= 0 && !c->pending[r->watchedIndex].watched) c->pending[r->watchedIndex].used = 0;
    if (r->watchedIndex >= 0 && c->pending[r->watchedIndex].used) {
      struct watchedCall *w = &c->pending[r->watchedIndex];
      w->used = 0;
      uint32_t lengths = (uint32_t)w->headLength << 16 | (uint32_t)r->headLength;
      if (r->where == TO_HOLD) c->held = 1;
      if (r->where == TO_HOLD || r->refusal || w->procedure == loginProcedure)
        report(r->where == TO_HOLD ? 'H' : 'J', c->id, lengths, w->head, (size_t)w->headLength, r->head, (size_t)r->headLength);
    }
  }
  r->headLength = 0;
  r->watchedIndex = -1;
  r->refusal = 0;
}

/* Routes what the proxy sent; returns the bytes used (fewer once a reply is held: the rest waits for 'R'); -1 out of memory. */
static ssize_t feedReplies(struct connection *c, const uint8_t *p, size_t n) {
  struct replies *r = &c->out;
  size_t i = 0;
  while (i < n && !c->held) {
    if (r->remaining < 0) {
      r->mark[r->markLength++] = p[i++];
      if (r->markLength < 4) continue;
      uint32_t mark = be32(r->mark);
      r->markLength = 0;
      r->last = (mark & LAST_FRAGMENT) != 0;
      r->remaining = mark & ~LAST_FRAGMENT;
      if (!r->firstFragment) {
        /* A record's first fragment: its mark and first bytes gathered before deciding. */
        r->firstFragment = 1;
        r->deciding = 1;
        memcpy(r->early, r->mark, 4);
        r->earlyLength = 4;
      } else if (emitBytes(c, r->mark, 4) != 0) {
        return -1;
      }
    } else {
      size_t take = n - i < (uint64_t)r->remaining ? n - i : (size_t)r->remaining;
      if (r->deciding && take > (size_t)(4 + DECIDE_BYTES - r->earlyLength)) take = (size_t)(4 + DECIDE_BYTES - r->earlyLength);
      if (r->headLength < HEAD_BYTES) {
        size_t room = (size_t)(HEAD_BYTES - r->headLength), kept = room < take ? room : take;
        memcpy(r->head + r->headLength, p + i, kept);
        r->headLength += (int)kept;
      }
      if (r->deciding) {
        memcpy(r->early + r->earlyLength, p + i, take);
        r->earlyLength += (int)take;
      } else if (r->where == TO_NODE) {
        size_t kept = INJECTED_REPLY_BYTES - c->injectedLength < take ? INJECTED_REPLY_BYTES - c->injectedLength : take;
        memcpy(c->injected + c->injectedLength, p + i, kept);
        c->injectedLength += kept;
      } else if (emitBytes(c, p + i, take) != 0) {
        return -1;
      }
      i += take;
      r->remaining -= (int64_t)take;
    }
    if (r->deciding && (r->earlyLength == 4 + DECIDE_BYTES || r->remaining == 0)) {
      r->deciding = 0;
      decide(c);
      if (r->where == TO_NODE) {
        c->injectedLength = (size_t)(r->earlyLength - 4);
        memcpy(c->injected, r->early + 4, c->injectedLength);
      } else if (emitBytes(c, r->early, (size_t)r->earlyLength) != 0) {
        return -1;
      }
    }
    if (r->remaining != 0) continue;
    r->remaining = -1;
    if (!r->last) continue;
    r->firstFragment = 0;
    endReply(c);
  }
  return (ssize_t)i;
}

static void setEvents(struct connection *c) {
  uint32_t cage = (c->toProxy.start == c->toProxy.end ? EPOLLIN : 0) | (c->toCage.start != c->toCage.end ? EPOLLOUT : 0);
  uint32_t proxy = (c->toCage.start == c->toCage.end && !c->held ? EPOLLIN : 0) | (c->toProxy.start != c->toProxy.end ? EPOLLOUT : 0);
  uint64_t slot = (uint64_t)(c - connections);
  if (cage != c->cageEvents) {
    struct epoll_event e = {.events = cage, .data.u64 = slot << 1};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->cage, &e);
    c->cageEvents = cage;
  }
  if (proxy != c->proxyEvents) {
    struct epoll_event e = {.events = proxy, .data.u64 = slot << 1 | 1};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->proxy, &e);
    c->proxyEvents = proxy;
  }
}

/* Writes what waits for `fd`, never blocking; false when the connection is broken. */
static int flush(int fd, struct pending *p) {
  while (p->start < p->end) {
    ssize_t n = send(fd, p->bytes + p->start, p->end - p->start, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
    if (n <= 0) return 0;
    p->start += (size_t)n;
  }
  p->start = p->end = 0;
  return 1;
}

static uint8_t chunk[CHUNK];

/* Feeds the proxy's bytes on; what follows a held refusal is kept unparsed. False: the connection must end. */
static int routeReplies(struct connection *c, const uint8_t *p, size_t n) {
  ssize_t used = feedReplies(c, p, n);
  if (used < 0) return 0;
  if ((size_t)used < n && append(&c->unparsed, p + used, n - (size_t)used) != 0) return 0;
  return flush(c->cage, &c->toCage);
}

static void fromCage(struct connection *c) {
  ssize_t n = read(c->cage, chunk, sizeof chunk);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return closeConnection(c, 0);
  int fed = feedCalls(c, chunk, (size_t)n);
  if (fed != FED) return closeConnection(c, fed == OVERSIZE ? 1 : 2);
  if (append(&c->toProxy, chunk, (size_t)n) != 0 || !flush(c->proxy, &c->toProxy)) return closeConnection(c, 0);
  setEvents(c);
}

static void fromProxy(struct connection *c) {
  ssize_t n = read(c->proxy, chunk, sizeof chunk);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return closeConnection(c, 0);
  if (!routeReplies(c, chunk, (size_t)n)) return closeConnection(c, 0);
  setEvents(c);
}

/* 'R': the held refusal goes to the cage, then what came after it, parsed now. */
static void releaseHeld(struct connection *c) {
  if (!c->held) return;
  c->held = 0;
  if (append(&c->toCage, c->hold.bytes + c->hold.start, c->hold.end - c->hold.start) != 0) return closeConnection(c, 0);
  release(&c->hold);
  struct pending rest = c->unparsed;
  memset(&c->unparsed, 0, sizeof c->unparsed);
  int ok = routeReplies(c, rest.bytes + rest.start, rest.end - rest.start);
  release(&rest);
  if (!ok) return closeConnection(c, 0);
  setEvents(c);
}

/* 'I': the supervisor's call, only between the cage's records with every call of it answered. */
static void inject(struct connection *c, const uint8_t *record, size_t length) {
  int quiet = c->in.remaining < 0 && c->in.markLength == 0 && c->outstanding == 0 && !c->injecting;
  if (!quiet) return report('A', c->id, 0xffffffffu, NULL, 0, NULL, 0);
  c->injecting = 1;
  c->injectedLength = 0;
  if (append(&c->toProxy, record, length) != 0 || !flush(c->proxy, &c->toProxy)) return closeConnection(c, 0);
  setEvents(c);
}

static struct connection *byId(uint32_t id) {
  for (int k = 0; k < MAX_CONNECTIONS; k++)
    if (connections[k].used && connections[k].id == id) return &connections[k];
  return NULL;
}

static uint8_t commands[12 + MAX_INJECTED];
static size_t commandLength;

static void readCommands(void) {
  ssize_t n = read(COMMANDS_FD, commands + commandLength, sizeof commands - commandLength);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) _exit(0); /* the Node side gone: every connection ends with this process */
  commandLength += (size_t)n;
  while (commandLength >= 12) {
    uint32_t id, length;
    memcpy(&id, commands + 4, 4);
    memcpy(&length, commands + 8, 4);
    if (length > MAX_INJECTED) _exit(3);
    if (commandLength < 12 + length) break;
    struct connection *c = byId(id);
    if (c && commands[0] == 'I') inject(c, commands + 12, length);
    else if (!c && commands[0] == 'I') report('A', id, 0xffffffffu, NULL, 0, NULL, 0);
    else if (c && commands[0] == 'R') releaseHeld(c);
    else if (c && commands[0] == 'C') closeConnection(c, 0);
    memmove(commands, commands + 12 + length, commandLength - 12 - length);
    commandLength -= 12 + length;
  }
}

/* The next descriptor of the pair the Node side sends (a cage's connection, then its proxy's). */
static void readDescriptor(void) {
  uint8_t byte;
  union {
    struct cmsghdr header;
    uint8_t space[CMSG_SPACE(4 * sizeof(int))];
  } control;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control};
  ssize_t n = recvmsg(DESCRIPTORS_FD, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) _exit(0);
  int fd = -1;
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
    if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
    int count = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int k = 0; k < count; k++) {
      int got;
      memcpy(&got, CMSG_DATA(h) + k * sizeof(int), sizeof got);
      if (fd < 0) fd = got;
      else close(got);
    }
  }
  if (fd < 0) _exit(3); /* the Node side's protocol broken */
  if (awaitingProxyFor < 0) {
    awaitingProxyFor = fd;
    return;
  }
  int cage = awaitingProxyFor;
  awaitingProxyFor = -1;
  uint32_t id = nextId++;
  struct connection *c = NULL;
  for (int k = 0; k < MAX_CONNECTIONS && !c; k++)
    if (!connections[k].used) c = &connections[k];
  if (!c) {
    close(cage);
    close(fd);
    return report('X', id, 0, NULL, 0, NULL, 0);
  }
  memset(c, 0, sizeof *c);
  c->used = 1;
  c->id = id;
  c->cage = cage;
  c->proxy = fd;
  c->in.remaining = c->out.remaining = -1;
  c->out.watchedIndex = -1;
  fcntl(cage, F_SETFL, fcntl(cage, F_GETFL) | O_NONBLOCK);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  uint64_t slot = (uint64_t)(c - connections);
  struct epoll_event e1 = {.events = EPOLLIN, .data.u64 = slot << 1}, e2 = {.events = EPOLLIN, .data.u64 = slot << 1 | 1};
  c->cageEvents = c->proxyEvents = EPOLLIN;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, cage, &e1) != 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e2) != 0) closeConnection(c, 0);
}

/*
 * Once set up, the calls it makes and no other (any other kills it): what parses a cage's bytes, run
 * as the cloison part's uid or a level's proxy uid, opens, connects, maps as code and runs nothing
 * even if taken over. Left out under the sanitizers (their runtime makes calls of its own).
 */
#if defined(__x86_64__)
#define RELAY_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define RELAY_ARCH AUDIT_ARCH_AARCH64
#endif
#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static void restrictCalls(void) {
#if defined(RELAY_ARCH) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_UNDEFINED__)
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RELAY_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    ALLOW(SYS_read), ALLOW(SYS_write), ALLOW(SYS_close), ALLOW(SYS_recvmsg), ALLOW(SYS_sendto), ALLOW(SYS_fcntl),
#ifdef SYS_epoll_wait
    ALLOW(SYS_epoll_wait),
#endif
    ALLOW(SYS_epoll_pwait), ALLOW(SYS_epoll_ctl), ALLOW(SYS_brk), ALLOW(SYS_munmap), ALLOW(SYS_mremap), ALLOW(SYS_madvise),
    ALLOW(SYS_exit_group), ALLOW(SYS_exit), ALLOW(SYS_rt_sigreturn),
#ifdef SYS_getrandom
    ALLOW(SYS_getrandom),
#endif
    /* mmap and mprotect (the allocator's), never for code. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 2),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  free(malloc(1)); /* the allocator set up before */
  struct sock_fprog program = {.len = (unsigned short)(sizeof filter / sizeof filter[0]), .filter = filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0)
    dprintf(2, "cardRecordRelay: no syscall filter of its own (%s)\n", strerror(errno));
#endif
}

#define TAG_DESCRIPTORS (~(uint64_t)0)
#define TAG_COMMANDS (~(uint64_t)0 - 1)

int main(int argc, char **argv) {
  /* Untraceable by the uid it runs as (a root supervisor's level proxy uid: levelCardProxy.ts also runs it from an execute-only copy, non-dumpable from its exec). */
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* a filter refusing it leaves the copy's protection (root), the part's own filter (the part) */
  /* Nothing but the descriptors given (0-5): one its parent left open without close-on-exec is not the proxy uid's to use through it. */
  if (syscall(SYS_close_range, 6U, ~0U, 0U) != 0)
    for (int fd = 6; fd < 65536; fd++) close(fd);
  if (argc < 3) return 2;
  maxRecordBytes = (uint32_t)strtoul(argv[1], NULL, 10);
  loginProcedure = (uint32_t)strtoul(argv[2], NULL, 10);
  watched[watchedCount++] = loginProcedure;
  for (int a = 3; a < argc && watchedCount < MAX_WATCHED; a++) watched[watchedCount++] = (uint32_t)strtoul(argv[a], NULL, 10);
  signal(SIGPIPE, SIG_IGN);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return 1;
  struct epoll_event d = {.events = EPOLLIN, .data.u64 = TAG_DESCRIPTORS}, k = {.events = EPOLLIN, .data.u64 = TAG_COMMANDS};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, DESCRIPTORS_FD, &d) != 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, COMMANDS_FD, &k) != 0) return 1;
  restrictCalls();
  for (;;) {
    struct epoll_event events[32];
    int n = epoll_wait(epfd, events, 32, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    for (int e = 0; e < n; e++) {
      uint64_t tag = events[e].data.u64;
      if (tag == TAG_DESCRIPTORS) {
        readDescriptor();
        continue;
      }
      if (tag == TAG_COMMANDS) {
        readCommands();
        continue;
      }
      struct connection *c = &connections[tag >> 1];
      if (!c->used) continue;
      uint32_t got = events[e].events;
      int proxySide = (int)(tag & 1);
      /* Writable: what waited goes on (and reading from the other side resumes). */
      if (got & EPOLLOUT) {
        if (!flush(proxySide ? c->proxy : c->cage, proxySide ? &c->toProxy : &c->toCage)) {
          closeConnection(c, 0);
          continue;
        }
        setEvents(c);
      }
      if (got & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (proxySide) fromProxy(c);
        else fromCage(c);
      }
    }
  }
}

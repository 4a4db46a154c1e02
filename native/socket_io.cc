// Zero-copy download data path.
//
// sendfileStart(sockFd, fileFd, offset, length, progressTimeoutMs,
//               readaheadBytes, cb) -> id
//
//   Sends bytes [offset, offset+length) of fileFd to the (non-blocking)
//   socket sockFd with sendfile(2). One burst is attempted inline; the rest is
//   driven by a uv_poll_t(UV_WRITABLE) on the libuv loop of the calling env:
//   no threadpool thread per transfer. Both fds are dup'd (F_DUPFD_CLOEXEC):
//   uv_poll_init() on Node's own socket fd fails with UV_EEXIST, and the dups
//   also protect against writing into / reading from a recycled fd number. The
//   caller keeps ownership of its fds; ours are closed on every path.
//
//   cb(err | null, bytesSent) is called exactly once, possibly synchronously
//   from inside sendfileStart (the whole range went out in the first burst, or
//   it failed at once) or from inside sendfileAbort. Returns the transfer id
//   (> 0) while it is in flight, 0 when cb has already been called.
//   Throws (without calling cb) only on bad arguments or if dup() fails.
//
//   Error codes: errno names (ECONNRESET, EPIPE, ...; err.errno is the negative
//   libuv code, err.syscall 'sendfile'), ESHORTFILE (file ended before
//   `length` bytes), ETIMEDOUT (no progress for progressTimeoutMs), ABORT_ERR
//   (sendfileAbort). Every error carries bytesSent.
//
// sendfileAbort(id) -> boolean   (also exported as recvAbort)
//   shutdown(SHUT_RDWR) on the dup'd socket (a JS socket.destroy() alone does
//   not stop the transfer: the dup keeps the connection open), stops polling
//   and settles with ABORT_ERR (or the pending SO_ERROR, if any). false if id
//   is not in flight. A receive is only stopped, not shut down.
//
// sendfileActive() -> number of transfers (sends and receives) in flight.
//
// sendfileSetThreads(n) -> count in effect. Sender threads for sendfileStart
// ([imaged] send_threads): n >= 0, or -1 for the default. Only before the
// first threaded send (threads are started then and live for the process).
//
// sendfileSetNopush(on) -> on. Whether sends started from now on are corked
// (TCP_CORK until the job ends; [imaged] tcp_nopush, default true).
//
// recvStart(sockFd, buffer, offset, length, progressTimeoutMs, cb) -> id
//
//   Reads from the socket into buffer[offset, offset+length) (a TypedArray,
//   possibly over a SharedArrayBuffer, kept alive until cb) until it is full
//   or the peer ends the stream. Same dup/poll/timeout/callback rules as
//   sendfileStart; cb(err | null, bytesRead), bytesRead < length only when the
//   peer closed its side (EOF). Errors carry bytesSent = bytes read so far.
//   Used for upload bodies once the HTTP layer has handed the socket over:
//   the bytes land where the hashers and the store writer read them, with no
//   per-64-KiB JS Buffer in between. sendfileAbort(id) aborts it too.
//
// chunkedOpen(sockFd, prefix) -> body
//
//   A request body in HTTP/1.1 chunked transfer coding, to be read from the
//   socket (dup'd now: the body owns its fd until chunkedClose or GC). prefix
//   holds the raw bytes that came with the request's head; they are decoded
//   first.
//
// chunkedRecv(body, buffer, offset, length, progressTimeoutMs, cb) -> id
//
//   Like recvStart, but fills buffer[offset, offset+length) with the decoded
//   chunk data: cb(null, n) with n < length only once the last chunk and the
//   trailers are read. Chunk data is received straight into the buffer
//   (recvmsg(2) with a second iovec for what follows the chunk: the next
//   framing lands in the body's own small buffer, never in the caller's);
//   only framing and the few data bytes read with it are copied. Errors as
//   recvStart, plus EBADCHUNK (malformed framing, the message says what) and
//   EARLYEOF (the peer ended the stream before the last chunk). One receive
//   per body at a time; abort it with recvAbort(id).
//
// chunkedClose(body): closes the body's fd (a receive in flight has its own);
//   bytes already read still decode, a receive that needs more fails with
//   EARLYEOF.
//
// Each loop turn sends at most kBurstBudget bytes per transfer (fairness
// between clients; bounds event-loop time when the file is not in the page
// cache). To make the loop-driven sendfile mostly hit the page cache, a
// rolling POSIX_FADV_WILLNEED window of readaheadBytes is kept ahead of the
// send position by libuv threadpool jobs (at most one in flight per transfer).
#include "socket_io.h"

#include "chunked.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <node_api.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

constexpr uint64_t kMaxPerCall = 0x7ffff000;     // Linux sendfile per-call cap
constexpr uint64_t kBurstBudget = 2u << 20;      // bytes per loop turn (recv, sends from the env loop)
// A sender thread sends until the socket is full (up to this much per turn):
// it serves nothing else that could starve, and keeping the send queue from
// running dry lets the receivers' ACKs drive the transmission (see below).
constexpr uint64_t kThreadBurstBudget = 16u << 20;
// SO_SNDBUF asked for on sender-thread sockets when the kernel allows more
// than autotuning gives (net.core.wmem_max vs tcp_wmem[2]).
constexpr int kSendBuffer = 4 << 20;
constexpr uint64_t kMaxSafeInteger = (1ull << 53) - 1;

struct Job;
struct Sender;

// Framing that follows a chunk's data is read into this much of the body's
// own memory (with whatever data comes after it, copied out by Decode).
constexpr size_t kChunkSide = 4096;

// A chunked request body being read (chunkedOpen): the decoder, the socket,
// and raw bytes received but not decoded yet.
struct ChunkedBody {
  ChunkedDecoder dec;
  int sock = -1;
  bool busy = false;  // a chunkedRecv is in flight
  std::vector<uint8_t> raw;  // [raw_pos, raw_len) still to decode
  size_t raw_pos = 0, raw_len = 0;
};

void CloseChunked(ChunkedBody* b) {
  if (b->sock >= 0) close(b->sock);
  b->sock = -1;
}

// Per-env state (one per main thread / worker that loads the addon).
struct State {
  napi_env env = nullptr;
  uv_loop_t* loop = nullptr;
  std::unordered_map<uint32_t, Job*> active;  // in flight (not yet delivered to JS)
  uint32_t next_id = 1;
  size_t live = 0;  // allocated jobs, settled or not (handles/work pending)
  bool tearing_down = false;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  // Sends finished on sender threads, waiting to be delivered on this env's loop.
  uv_async_t done_async;
  std::mutex done_mu;
  std::vector<Job*> done;
  size_t threaded = 0;  // jobs handed to sender threads and not yet delivered
};

struct Failure {
  std::string code;
  std::string message;
  int uv_errno = 0;  // negative libuv code, 0 if not a system error
  const char* op = "sendfile";
};

struct Job {
  State* st = nullptr;
  Sender* sender = nullptr;  // runs on this sender thread's loop; null: on the env's loop
  uv_loop_t* loop = nullptr;  // the loop its handles live on
  bool failed = false;  // threaded jobs keep their outcome until delivery
  Failure failure;
  bool recv = false;  // recvStart (socket -> buffer) instead of sendfile
  uint8_t* buf = nullptr;  // recv destination (pos/end index into it)
  napi_ref buf_ref = nullptr;
  ChunkedBody* chunked = nullptr;  // chunkedRecv: decode into buf
  napi_ref chunked_ref = nullptr;
  uint32_t id = 0;
  int sock = -1;  // our dup of the socket
  int file = -1;  // our dup of the file
  uint64_t pos = 0;  // next file offset to send
  uint64_t end = 0;
  uint64_t length = 0;  // promised bytes
  uint64_t sent = 0;
  uint64_t timeout_ms = 0;
  uint64_t ra_window = 0;
  uint64_t ra_end = 0;  // WILLNEED issued up to here
  uint64_t ra_off = 0, ra_len = 0;  // range of the job in flight
  bool ra_busy = false;
  bool handles = false;  // poll + timer initialised
  bool rdhup = false;    // peer half-closed; polling UV_WRITABLE only
  bool corked = false;   // TCP_CORK set by us for this send
  bool settled = false;
  int pending = 0;  // outstanding uv_close callbacks + threadpool jobs
  uv_poll_t poll;
  uv_timer_t timer;
  uv_work_t work;
  napi_ref cb = nullptr;
  napi_async_context actx = nullptr;
};

Failure UvFailure(int uverr, const char* op = "sendfile") {
  Failure f;
  f.code = uv_err_name(uverr);
  f.message = std::string(op) + " " + f.code + " (" + uv_strerror(uverr) + ")";
  f.uv_errno = uverr;
  f.op = op;
  return f;
}

Failure SysFailure(int sys_errno, const char* op = "sendfile") {
  return UvFailure(uv_translate_sys_error(sys_errno), op);
}

const char* OpName(const Job* j) { return j->recv ? "recv" : "sendfile"; }

Failure CustomFailure(const char* code, std::string message) {
  Failure f;
  f.code = code;
  f.message = std::move(message);
  return f;
}

void SetNamed(napi_env env, napi_value obj, const char* name, napi_value v) {
  napi_set_named_property(env, obj, name, v);
}

napi_value MakeError(napi_env env, const Failure& f, uint64_t sent) {
  napi_value code, msg, err, v;
  napi_create_string_utf8(env, f.code.c_str(), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, f.message.c_str(), NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &err);
  if (f.uv_errno != 0) {
    napi_create_int32(env, f.uv_errno, &v);
    SetNamed(env, err, "errno", v);
    napi_create_string_utf8(env, f.op, NAPI_AUTO_LENGTH, &v);
    SetNamed(env, err, "syscall", v);
  }
  napi_create_double(env, static_cast<double>(sent), &v);
  SetNamed(env, err, "bytesSent", v);
  return err;
}

void PostDone(Job* j);
void MaybeFinishTeardown(State* st);

void MaybeFree(Job* j) {
  if (!j->settled || j->pending != 0) return;
  State* st = j->st;
  if (j->sock >= 0) close(j->sock);
  if (j->file >= 0) close(j->file);
  j->sock = j->file = -1;
  if (j->sender) {
    PostDone(j);  // the env's thread delivers the outcome and frees the job
    return;
  }
  delete j;
  st->live--;
  MaybeFinishTeardown(st);
}

void OnHandleClosed(uv_handle_t* h) {
  Job* j = static_cast<Job*>(h->data);
  j->pending--;
  MaybeFree(j);
}

// Calls cb(err|null, sent). from_js: we are inside a JS -> native call, so a
// plain call is right (exceptions propagate to that caller). Otherwise we are
// in a raw libuv callback: napi_make_callback opens a callback scope (async
// hooks + microtask/nextTick drain on exit, so .then continuations run now).
void Deliver(Job* j, const Failure* f, bool from_js) {
  napi_env env = j->st->env;
  napi_handle_scope hs;
  if (napi_open_handle_scope(env, &hs) != napi_ok) return;
  napi_value argv[2], cb, recv;
  if (f) {
    argv[0] = MakeError(env, *f, j->sent);
  } else {
    napi_get_null(env, &argv[0]);
  }
  napi_create_double(env, static_cast<double>(j->sent), &argv[1]);
  napi_get_reference_value(env, j->cb, &cb);
  if (from_js || j->actx == nullptr) {
    napi_get_undefined(env, &recv);
    napi_call_function(env, recv, cb, 2, argv, nullptr);
  } else {
    napi_get_global(env, &recv);
    napi_value result;
    if (napi_make_callback(env, j->actx, recv, cb, 2, argv, &result) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value e;
        napi_get_and_clear_last_exception(env, &e);
        napi_fatal_exception(env, e);  // -> process 'uncaughtException'
      }
    }
  }
  napi_close_handle_scope(env, hs);
}

// Settles the job: stops everything, calls JS (unless the env is going away),
// releases JS references. The job memory lives on until handle closes and any
// threadpool job have completed.
void ForgetOnSender(Job* j);

// A download is sent corked (TCP_CORK, nginx's `tcp_nopush on`; [imaged]
// tcp_nopush): only full segments leave while the file streams, the tail when
// the job ends. On loopback this leaves more of the transmission to the
// receiver's ACK processing: at one connection imaged's CPU per GiB fell ~40%
// (to nginx's), at nginx's throughput instead of ~1.5x it (the receiver pays).
std::atomic<bool> g_nopush{true};
void Cork(int sock, int on) { setsockopt(sock, IPPROTO_TCP, TCP_CORK, &on, sizeof on); }

void Settle(Job* j, const Failure* f, bool from_js) {
  if (j->settled) return;
  j->settled = true;
  if (j->corked) Cork(j->sock, 0);  // flush the tail before JS answers the next request
  State* st = j->st;
  if (j->sender) {
    // On the sender thread: keep the outcome, close the handles, and hand the
    // job back to the env's thread (MaybeFree -> PostDone) for the JS call.
    if (f) {
      j->failed = true;
      j->failure = *f;
    }
    ForgetOnSender(j);
  } else if (j->id != 0) {
    st->active.erase(j->id);
  }
  if (j->handles) {
    // uv_close -> uv_poll_stop removes the fd from epoll synchronously
    // (EPOLL_CTL_DEL), so our dup can be closed right away; the caller's JS
    // socket.destroy() then really ends the connection.
    uv_close(reinterpret_cast<uv_handle_t*>(&j->poll), OnHandleClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(&j->timer), OnHandleClosed);
    j->pending += 2;
  }
  if (j->sock >= 0) {
    close(j->sock);
    j->sock = -1;
  }
  if (j->sender) {
    MaybeFree(j);
    return;
  }
  j->pending++;  // keep j alive across the JS call
  if (j->chunked) j->chunked->busy = false;  // the callback may read on at once
  if (!st->tearing_down && j->cb) Deliver(j, f, from_js);
  if (j->cb) {
    napi_delete_reference(st->env, j->cb);
    j->cb = nullptr;
  }
  if (j->buf_ref) {
    napi_delete_reference(st->env, j->buf_ref);
    j->buf_ref = nullptr;
    j->buf = nullptr;
  }
  if (j->chunked_ref) {
    napi_delete_reference(st->env, j->chunked_ref);
    j->chunked_ref = nullptr;
    j->chunked = nullptr;
  }
  if (j->actx) {
    napi_async_destroy(st->env, j->actx);
    j->actx = nullptr;
  }
  j->pending--;
  MaybeFree(j);
}

enum class Pumped { kDone, kAgain, kCapped, kShort, kError, kBadChunk, kEarlyEof };

// Reads a chunked body: decodes raw bytes already here, then receives the
// current chunk's data in place (plus what follows, into the body's memory).
Pumped PumpChunked(Job* j, int* err) {
  ChunkedBody* b = j->chunked;
  ChunkedDecoder& d = b->dec;
  uint64_t budget = kBurstBudget;
  for (;;) {
    if (d.Failed()) return Pumped::kBadChunk;
    if (d.Done() || j->pos >= j->end) return Pumped::kDone;
    if (b->raw_pos < b->raw_len) {
      size_t out = 0;
      b->raw_pos += d.Decode(b->raw.data() + b->raw_pos, b->raw_len - b->raw_pos, j->buf + j->pos,
                             static_cast<size_t>(j->end - j->pos), &out);
      j->pos += out;
      j->sent += out;
      continue;
    }
    if (j->sock < 0) return Pumped::kEarlyEof;
    if (budget == 0) return Pumped::kCapped;
    struct iovec iov[2];
    int n = 0;
    size_t direct = 0;
    if (d.InData()) {
      direct = static_cast<size_t>(std::min({d.DataLeft(), j->end - j->pos, budget}));
      iov[n++] = {j->buf + j->pos, direct};
    }
    // Framing only after the chunk's last byte: never into the caller's buffer.
    if (!d.InData() || direct == d.DataLeft()) iov[n++] = {b->raw.data(), kChunkSide};
    struct msghdr mh = {};
    mh.msg_iov = iov;
    mh.msg_iovlen = n;
    ssize_t r = ::recvmsg(j->sock, &mh, 0);
    if (r > 0) {
      size_t got = static_cast<size_t>(r);
      size_t data = std::min(got, direct);
      if (data > 0) {
        d.TookData(data);
        j->pos += data;
        j->sent += data;
      }
      b->raw_pos = 0;
      b->raw_len = got - data;
      budget -= std::min<uint64_t>(got, budget);
      continue;
    }
    if (r == 0) return Pumped::kEarlyEof;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Pumped::kAgain;
    *err = errno;
    return Pumped::kError;
  }
}

// Reads until the buffer is full, the socket is drained or the peer ended it.
Pumped PumpRecv(Job* j, int* err) {
  if (j->chunked) return PumpChunked(j, err);
  uint64_t budget = kBurstBudget;
  while (j->pos < j->end) {
    if (budget == 0) return Pumped::kCapped;
    size_t n = static_cast<size_t>(std::min(j->end - j->pos, budget));
    ssize_t r = ::recv(j->sock, j->buf + j->pos, n, 0);
    if (r > 0) {
      j->pos += static_cast<uint64_t>(r);
      j->sent += static_cast<uint64_t>(r);
      budget -= std::min<uint64_t>(static_cast<uint64_t>(r), budget);
      continue;
    }
    if (r == 0) return Pumped::kDone;  // EOF: bytesRead < length tells the caller
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Pumped::kAgain;
    *err = errno;
    return Pumped::kError;
  }
  return Pumped::kDone;
}

// Sends up to kBurstBudget bytes (kThreadBurstBudget on a sender thread).
Pumped Pump(Job* j, int* err) {
  if (j->recv) return PumpRecv(j, err);
  uint64_t budget = j->sender ? kThreadBurstBudget : kBurstBudget;
  while (j->pos < j->end) {
    if (budget == 0) return Pumped::kCapped;
    uint64_t n = std::min({j->end - j->pos, budget, kMaxPerCall});
    off_t off = static_cast<off_t>(j->pos);
    ssize_t r = sendfile(j->sock, j->file, &off, static_cast<size_t>(n));
    if (r > 0) {
      j->pos += static_cast<uint64_t>(r);
      j->sent += static_cast<uint64_t>(r);
      budget -= std::min<uint64_t>(static_cast<uint64_t>(r), budget);
      continue;
    }
    if (r == 0) return Pumped::kShort;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Pumped::kAgain;
    *err = errno;
    return Pumped::kError;
  }
  return Pumped::kDone;
}

Failure ShortFailure(Job* j) {
  return CustomFailure(
      "ESHORTFILE",
      "sendfile: file ended after " + std::to_string(j->sent) + " of " +
          std::to_string(j->length) + " promised bytes");
}

// Settles on a finished/failed pump; returns true if settled.
bool SettleIfFinal(Job* j, Pumped r, int err, bool from_js) {
  switch (r) {
    case Pumped::kDone:
      Settle(j, nullptr, from_js);
      return true;
    case Pumped::kShort: {
      Failure f = ShortFailure(j);
      Settle(j, &f, from_js);
      return true;
    }
    case Pumped::kError: {
      Failure f = SysFailure(err, OpName(j));
      Settle(j, &f, from_js);
      return true;
    }
    case Pumped::kBadChunk: {
      Failure f = CustomFailure("EBADCHUNK", j->chunked->dec.Error());
      Settle(j, &f, from_js);
      return true;
    }
    case Pumped::kEarlyEof: {
      Failure f = CustomFailure("EARLYEOF", "the client ended the connection before the last chunk (" +
                                                std::to_string(j->sent) + " bytes of this read received)");
      Settle(j, &f, from_js);
      return true;
    }
    default:
      return false;
  }
}

// ---- readahead (threadpool) ----

void RaWork(uv_work_t* w) {
  Job* j = static_cast<Job*>(w->data);
  // Warm files are the common case: if the window's last byte is already in the page cache (a non-blocking
  // 1-byte read succeeds), skip the fadvise, whose page-cache walk cost ~10% of the send CPU on hot files.
  char probe;
  struct iovec iov = {&probe, 1};
  if (preadv2(j->file, &iov, 1, static_cast<off_t>(j->ra_off + j->ra_len - 1), RWF_NOWAIT) == 1) return;
  posix_fadvise(j->file, static_cast<off_t>(j->ra_off),
                static_cast<off_t>(j->ra_len), POSIX_FADV_WILLNEED);
}

void MaybeReadahead(Job* j);

void RaAfter(uv_work_t* w, int /*status*/) {
  Job* j = static_cast<Job*>(w->data);
  j->ra_busy = false;
  j->pending--;
  if (j->settled) {
    MaybeFree(j);
    return;
  }
  MaybeReadahead(j);
}

void MaybeReadahead(Job* j) {
  if (j->settled || j->ra_busy || j->ra_window == 0) return;
  if (j->ra_end >= j->end) return;
  if (j->ra_end > j->pos + j->ra_window / 2) return;  // still far enough ahead
  uint64_t from = std::max(j->ra_end, j->pos);
  uint64_t to = std::min(j->end, j->pos + j->ra_window);
  if (to <= from) return;
  j->ra_off = from;
  j->ra_len = to - from;
  j->ra_end = to;
  j->ra_busy = true;
  j->pending++;
  j->work.data = j;
  if (uv_queue_work(j->loop, &j->work, RaWork, RaAfter) != 0) {
    j->ra_busy = false;
    j->pending--;
  }
}

// ---- event loop driven part ----

void OnTimeout(uv_timer_t* t) {
  Job* j = static_cast<Job*>(t->data);
  if (j->settled) return;
  shutdown(j->sock, SHUT_RDWR);
  Failure f = CustomFailure(
      "ETIMEDOUT", std::string(OpName(j)) + ": no progress for " +
                       std::to_string(j->timeout_ms) + " ms (" + std::to_string(j->sent) +
                       (j->recv ? " bytes received)" : " bytes sent)"));
  Settle(j, &f, false);
}

void ArmTimer(Job* j) {
  if (j->timeout_ms > 0) uv_timer_start(&j->timer, OnTimeout, j->timeout_ms, 0);
}

void OnPoll(uv_poll_t* h, int status, int events) {
  Job* j = static_cast<Job*>(h->data);
  if (j->settled) return;
  if (status < 0) {
    // libuv reports EPOLLERR as UV_EBADF; the real cause is in SO_ERROR.
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(j->sock, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = 0;
    Failure f = soerr != 0 ? SysFailure(soerr, OpName(j)) : UvFailure(status, OpName(j));
    Settle(j, &f, false);
    return;
  }
  if (!j->recv && (events & UV_DISCONNECT) && !j->rdhup) {
    // Peer half-closed. EPOLLRDHUP is level-triggered and would fire on every
    // loop turn while we wait for writability: poll for UV_WRITABLE only.
    // (A full close/reset still surfaces as EPOLLERR/EPOLLHUP or EPIPE.)
    j->rdhup = true;
    uv_poll_start(&j->poll, UV_WRITABLE, OnPoll);
  }
  uint64_t before = j->sent;
  int err = 0;
  Pumped r = Pump(j, &err);
  if (SettleIfFinal(j, r, err, false)) return;
  if (j->sent != before) ArmTimer(j);
  MaybeReadahead(j);
}

// ---- JS entry points ----

bool GetUint(const Napi::Value& v, uint64_t max, uint64_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < 0 || d != std::floor(d) || d > static_cast<double>(max))
    return false;
  *out = static_cast<uint64_t>(d);
  return true;
}

Napi::Value Throw(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

// dup(2)s the socket fd (close-on-exec, non-blocking); throws into JS and
// returns -1 on failure.
int DupSocket(Napi::Env env, uint64_t sockfd) {
  int sock = fcntl(static_cast<int>(sockfd), F_DUPFD_CLOEXEC, 0);
  if (sock < 0) {
    Failure f = SysFailure(errno);
    Napi::Value e(env, MakeError(env, f, 0));
    e.As<Napi::Error>().ThrowAsJavaScriptException();
    return -1;
  }
  // Shared file description: Node's own socket is non-blocking already.
  int fl = fcntl(sock, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(sock, F_SETFL, fl | O_NONBLOCK);
  return sock;
}

// Starts polling on the job's loop (the env's, or a sender thread's). false
// if it failed and the job was settled.
bool Arm(Job* j, int events, bool from_js) {
  int rc = uv_poll_init(j->loop, &j->poll, j->sock);
  if (rc != 0) {
    Failure f = UvFailure(rc, OpName(j));
    Settle(j, &f, from_js);
    return false;
  }
  uv_timer_init(j->loop, &j->timer);
  uv_unref(reinterpret_cast<uv_handle_t*>(&j->timer));
  j->poll.data = j;
  j->timer.data = j;
  j->handles = true;
  rc = uv_poll_start(&j->poll, events, OnPoll);
  if (rc != 0) {
    Failure f = UvFailure(rc, OpName(j));
    Settle(j, &f, from_js);
    return false;
  }
  ArmTimer(j);
  MaybeReadahead(j);
  return true;
}

// ---- sender threads ----
//
// Downloads are sent from a few threads, each running its own libuv loop,
// instead of the env's loop alone. Measured on 2 vCPUs (loopback, wrk, 1 GiB
// from the page cache): two processes serving c/2 connections each used half
// the CPU per GiB of one serving c (0.07 vs 0.14 CPU-s at c=4) -- nginx's two
// workers likewise. Much of a send's cost is per-segment TCP work done in the
// sender's context when its queue runs dry; more senders keep more data
// queued, so the receivers' ACK processing transmits it. A job belongs to one
// sender from the handoff until it is settled there; the env's thread then
// delivers the outcome to JS and frees it. Receives stay on the env's loop.

struct Cmd {
  enum Kind { kStart, kAbort } kind;
  Job* job;  // kStart
  uint32_t id;  // kAbort (the job may already be gone: looked up by id)
};

struct Sender {
  uv_loop_t loop;
  uv_async_t wake;
  std::mutex mu;
  std::vector<Cmd> cmds;
  std::unordered_map<uint32_t, Job*> jobs;  // live on this thread (sender-only)
  std::atomic<int> load{0};  // jobs handed over and not yet settled
};

std::mutex g_senders_mu;
std::vector<Sender*> g_senders;  // started lazily, live for the whole process
int g_sender_threads = -1;  // -1: not configured yet (default below)

int DefaultSenderThreads() {
  const char* v = getenv("IMAGED_SEND_THREADS");
  if (v && *v) return std::max(0, std::min(16, atoi(v)));
  return std::max(1, std::min(4, static_cast<int>(uv_available_parallelism())));
}

int ReadProcInt(const char* path, int field) {
  int v = 0;
  if (FILE* f = fopen(path, "re")) {
    for (int i = 0; i <= field; i++)
      if (fscanf(f, "%d", &v) != 1) v = 0;
    fclose(f);
  }
  return v;
}

// Raises the send buffer to 2 * min(kSendBuffer, wmem_max) when that is more
// than autotuning could reach (setting it turns autotuning off). The socket
// polls writable again only when about a third is free: a larger buffer keeps
// unsent data queued across our wakeups. Best effort.
void GrowSendBuffer(int sock) {
  static std::atomic<int> want{-1};
  int w = want.load();
  if (w < 0) {
    int wmem_max = ReadProcInt("/proc/sys/net/core/wmem_max", 0);
    int auto_max = ReadProcInt("/proc/sys/net/ipv4/tcp_wmem", 2);
    w = std::min(kSendBuffer, wmem_max);
    if (static_cast<int64_t>(w) * 2 <= auto_max) w = 0;
    want = w;
  }
  int cur = 0;
  socklen_t len = sizeof cur;
  if (w <= 0 || getsockopt(sock, SOL_SOCKET, SO_SNDBUF, &cur, &len) != 0) return;
  if (static_cast<int64_t>(w) * 2 > cur) setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &w, sizeof w);
}

void ForgetOnSender(Job* j) {
  j->sender->jobs.erase(j->id);
  j->sender->load--;
}

void AbortFailureFor(Job* j, Failure* f) {
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (getsockopt(j->sock, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = 0;
  // A receive is stopped without shutdown: the caller still answers on the
  // connection (e.g. 413) through Node's own fd.
  if (!j->recv) shutdown(j->sock, SHUT_RDWR);
  *f = soerr != 0 ? SysFailure(soerr, OpName(j))
                  : CustomFailure("ABORT_ERR", std::string(OpName(j)) + " aborted after " +
                                                   std::to_string(j->sent) + " bytes");
}

void OnSenderWake(uv_async_t* a) {
  Sender* s = static_cast<Sender*>(a->data);
  std::vector<Cmd> cmds;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    cmds.swap(s->cmds);
  }
  for (const Cmd& c : cmds) {
    if (c.kind == Cmd::kStart) {
      s->jobs.emplace(c.job->id, c.job);
      GrowSendBuffer(c.job->sock);
      Arm(c.job, UV_WRITABLE | UV_DISCONNECT, false);
    } else {
      auto it = s->jobs.find(c.id);
      if (it == s->jobs.end() || it->second->settled) continue;  // already finished
      Failure f;
      AbortFailureFor(it->second, &f);
      Settle(it->second, &f, false);
    }
  }
}

void Post(Sender* s, const Cmd& c) {
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->cmds.push_back(c);
  }
  uv_async_send(&s->wake);
}

// The least loaded sender, starting the threads on first use; null when
// sending from the env's loop (IMAGED_SEND_THREADS=0 or a thread failed).
Sender* PickSender() {
  std::lock_guard<std::mutex> lock(g_senders_mu);
  if (g_sender_threads < 0) g_sender_threads = DefaultSenderThreads();
  while (static_cast<int>(g_senders.size()) < g_sender_threads) {
    Sender* s = new Sender();
    if (uv_loop_init(&s->loop) != 0) {
      delete s;
      g_sender_threads = static_cast<int>(g_senders.size());
      break;
    }
    uv_async_init(&s->loop, &s->wake, OnSenderWake);
    s->wake.data = s;
    std::thread([s] {
      pthread_setname_np(pthread_self(), "imaged-send");  // visible in top -H, /proc/PID/task
      uv_run(&s->loop, UV_RUN_DEFAULT);
    }).detach();
    g_senders.push_back(s);
  }
  Sender* best = nullptr;
  for (Sender* s : g_senders)
    if (!best || s->load.load() < best->load.load()) best = s;
  return best;
}

// Sender thread: the job is settled and its handles are closed.
void PostDone(Job* j) {
  State* st = j->st;
  {
    std::lock_guard<std::mutex> lock(st->done_mu);
    st->done.push_back(j);
  }
  uv_async_send(&st->done_async);
}

// Env thread: delivers the outcomes of jobs finished on sender threads.
void OnDone(uv_async_t* a) {
  State* st = static_cast<State*>(a->data);
  std::vector<Job*> done;
  {
    std::lock_guard<std::mutex> lock(st->done_mu);
    done.swap(st->done);
  }
  for (Job* j : done) {
    st->active.erase(j->id);
    if (--st->threaded == 0) uv_unref(reinterpret_cast<uv_handle_t*>(&st->done_async));
    if (!st->tearing_down && j->cb) Deliver(j, j->failed ? &j->failure : nullptr, false);
    if (j->cb) napi_delete_reference(st->env, j->cb);
    if (j->buf_ref) napi_delete_reference(st->env, j->buf_ref);
    if (j->actx) napi_async_destroy(st->env, j->actx);
    delete j;
    st->live--;
  }
  MaybeFinishTeardown(st);
}

void OnDoneClosed(uv_handle_t* h) {
  State* st = static_cast<State*>(h->data);
  napi_remove_async_cleanup_hook(st->cleanup);
  delete st;
}

void MaybeFinishTeardown(State* st) {
  if (!st->tearing_down || st->live != 0) return;
  uv_close(reinterpret_cast<uv_handle_t*>(&st->done_async), OnDoneClosed);
}

// Common tail of sendfileStart/recvStart: one inline burst, then the poll
// handle and progress timer -- for sends on a sender thread. Returns the id,
// or 0 once cb has been called.
Napi::Value Launch(Napi::Env env, State* st, Job* j, int events) {
  int err = 0;
  Pumped r = Pump(j, &err);
  if (SettleIfFinal(j, r, err, true)) return Napi::Number::New(env, 0);

  napi_value name;
  napi_create_string_utf8(env, j->recv ? "imaged:recv" : "imaged:sendfile", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &j->actx);
  do {
    j->id = st->next_id++;
    if (st->next_id == 0) st->next_id = 1;
  } while (j->id == 0 || st->active.count(j->id));

  Sender* s = j->recv ? nullptr : PickSender();
  if (s) {
    st->active.emplace(j->id, j);
    if (st->threaded++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&st->done_async));
    j->sender = s;
    j->loop = &s->loop;
    s->load++;
    Post(s, Cmd{Cmd::kStart, j, j->id});
    return Napi::Number::New(env, j->id);
  }
  j->loop = st->loop;
  if (!Arm(j, events, true)) return Napi::Number::New(env, 0);
  st->active.emplace(j->id, j);
  return Napi::Number::New(env, j->id);
}

Napi::Value Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State* st = static_cast<State*>(info.Data());
  uint64_t sockfd, filefd, offset, length, timeout_ms, ra;
  if (info.Length() < 7) return Throw(env, "sendfileStart: expected 7 arguments");
  if (!GetUint(info[0], INT32_MAX, &sockfd)) return Throw(env, "sendfileStart: bad sockFd");
  if (!GetUint(info[1], INT32_MAX, &filefd)) return Throw(env, "sendfileStart: bad fileFd");
  if (!GetUint(info[2], kMaxSafeInteger, &offset)) return Throw(env, "sendfileStart: bad offset");
  if (!GetUint(info[3], kMaxSafeInteger, &length)) return Throw(env, "sendfileStart: bad length");
  if (offset + length > static_cast<uint64_t>(INT64_MAX))
    return Throw(env, "sendfileStart: offset + length out of range");
  if (!GetUint(info[4], UINT32_MAX, &timeout_ms))
    return Throw(env, "sendfileStart: bad progressTimeoutMs");
  if (!GetUint(info[5], kMaxSafeInteger, &ra)) return Throw(env, "sendfileStart: bad readaheadBytes");
  if (!info[6].IsFunction()) return Throw(env, "sendfileStart: cb must be a function");

  int sock = DupSocket(env, sockfd);
  if (sock < 0) return env.Undefined();
  int file = fcntl(static_cast<int>(filefd), F_DUPFD_CLOEXEC, 0);
  if (file < 0) {
    Failure f = SysFailure(errno);
    close(sock);
    Napi::Value e(env, MakeError(env, f, 0));
    e.As<Napi::Error>().ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Job* j = new Job();
  st->live++;
  j->st = st;
  j->sock = sock;
  j->file = file;
  if (g_nopush.load()) {
    Cork(sock, 1);
    j->corked = true;
  }
  j->pos = offset;
  j->end = offset + length;
  j->length = length;
  j->timeout_ms = timeout_ms;
  j->ra_window = ra;
  j->ra_end = offset;
  napi_create_reference(env, info[6], 1, &j->cb);
  return Launch(env, st, j, UV_WRITABLE | UV_DISCONNECT);
}

// A receive's arguments info[1..5]: buffer, offset, length, progressTimeoutMs, cb. Shared by recvStart and
// chunkedRecv; false once it has thrown into JS.
struct RecvArgs {
  uint8_t* data = nullptr;
  uint64_t offset = 0, length = 0, timeout_ms = 0;
};

bool GetRecvArgs(const Napi::CallbackInfo& info, const char* fn, RecvArgs* a) {
  Napi::Env env = info.Env();
  auto fail = [&](const char* what) {
    Throw(env, (std::string(fn) + ": " + what).c_str());
    return false;
  };
  if (!info[1].IsTypedArray()) return fail("buffer must be a TypedArray");
  // napi_get_typedarray_info gives the data pointer for SharedArrayBuffer
  // views too (Napi::TypedArray::ArrayBuffer() fails on those).
  napi_typedarray_type tt;
  size_t elems = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, info[1], &tt, &elems, &data, nullptr, nullptr) != napi_ok ||
      data == nullptr)
    return fail("buffer has no memory");
  uint64_t cap = info[1].As<Napi::TypedArray>().ByteLength();
  if (!GetUint(info[2], cap, &a->offset)) return fail("bad offset");
  if (!GetUint(info[3], cap - a->offset, &a->length)) return fail("bad length");
  if (!GetUint(info[4], UINT32_MAX, &a->timeout_ms)) return fail("bad progressTimeoutMs");
  if (!info[5].IsFunction()) return fail("cb must be a function");
  a->data = static_cast<uint8_t*>(data);
  return true;
}

// A receive job on `sock` into the arguments' buffer; the buffer and cb are held until cb is called.
Job* NewRecvJob(napi_env env, State* st, int sock, const RecvArgs& a, const Napi::CallbackInfo& info) {
  Job* j = new Job();
  st->live++;
  j->st = st;
  j->recv = true;
  j->sock = sock;
  j->buf = a.data;
  j->pos = a.offset;
  j->end = a.offset + a.length;
  j->length = a.length;
  j->timeout_ms = a.timeout_ms;
  napi_create_reference(env, info[1], 1, &j->buf_ref);  // the memory stays valid until cb
  napi_create_reference(env, info[5], 1, &j->cb);
  return j;
}

Napi::Value RecvStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State* st = static_cast<State*>(info.Data());
  uint64_t sockfd;
  if (info.Length() < 6) return Throw(env, "recvStart: expected 6 arguments");
  if (!GetUint(info[0], INT32_MAX, &sockfd)) return Throw(env, "recvStart: bad sockFd");
  RecvArgs a;
  if (!GetRecvArgs(info, "recvStart", &a)) return env.Undefined();
  int sock = DupSocket(env, sockfd);
  if (sock < 0) return env.Undefined();
  return Launch(env, st, NewRecvJob(env, st, sock, a, info), UV_READABLE);
}

void FinalizeChunked(napi_env /*env*/, void* data, void* /*hint*/) {
  ChunkedBody* b = static_cast<ChunkedBody*>(data);
  CloseChunked(b);
  delete b;
}

ChunkedBody* ChunkedOf(Napi::Env env, const Napi::Value& v) {
  void* data = nullptr;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return nullptr;
  if (napi_get_value_external(env, v, &data) != napi_ok) return nullptr;
  return static_cast<ChunkedBody*>(data);
}

Napi::Value ChunkedOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t sockfd;
  if (info.Length() < 2) return Throw(env, "chunkedOpen: expected 2 arguments");
  if (!GetUint(info[0], INT32_MAX, &sockfd)) return Throw(env, "chunkedOpen: bad sockFd");
  if (!info[1].IsTypedArray()) return Throw(env, "chunkedOpen: prefix must be a TypedArray");
  napi_typedarray_type tt;
  size_t elems = 0;
  void* data = nullptr;
  napi_get_typedarray_info(env, info[1], &tt, &elems, &data, nullptr, nullptr);
  size_t len = info[1].As<Napi::TypedArray>().ByteLength();
  int sock = DupSocket(env, sockfd);
  if (sock < 0) return env.Undefined();
  ChunkedBody* b = new ChunkedBody();
  b->sock = sock;
  b->raw.resize(std::max(len, kChunkSide));
  if (len > 0) memcpy(b->raw.data(), data, len);
  b->raw_len = len;
  napi_value ext;
  if (napi_create_external(env, b, FinalizeChunked, nullptr, &ext) != napi_ok) {
    FinalizeChunked(env, b, nullptr);
    return Throw(env, "chunkedOpen: cannot wrap the body");
  }
  return Napi::Value(env, ext);
}

Napi::Value ChunkedRecv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State* st = static_cast<State*>(info.Data());
  if (info.Length() < 6) return Throw(env, "chunkedRecv: expected 6 arguments");
  ChunkedBody* b = ChunkedOf(env, info[0]);
  if (!b) return Throw(env, "chunkedRecv: not a chunked body");
  if (b->busy) return Throw(env, "chunkedRecv: a receive is already in flight");
  RecvArgs a;
  if (!GetRecvArgs(info, "chunkedRecv", &a)) return env.Undefined();

  // Closed (the connection is gone): what was read already still decodes.
  int sock = b->sock < 0 ? -1 : DupSocket(env, static_cast<uint64_t>(b->sock));
  if (b->sock >= 0 && sock < 0) return env.Undefined();
  Job* j = NewRecvJob(env, st, sock, a, info);
  j->chunked = b;
  b->busy = true;
  napi_create_reference(env, info[0], 1, &j->chunked_ref);  // the body outlives the receive
  return Launch(env, st, j, UV_READABLE);
}

Napi::Value ChunkedClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ChunkedBody* b = info.Length() < 1 ? nullptr : ChunkedOf(env, info[0]);
  if (!b) return Throw(env, "chunkedClose: not a chunked body");
  CloseChunked(b);
  return env.Undefined();
}

Napi::Value Abort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State* st = static_cast<State*>(info.Data());
  uint64_t id;
  if (info.Length() < 1 || !GetUint(info[0], UINT32_MAX, &id))
    return Throw(env, "sendfileAbort: bad id");
  auto it = st->active.find(static_cast<uint32_t>(id));
  if (it == st->active.end()) return Napi::Boolean::New(env, false);
  Job* j = it->second;
  if (j->sender) {
    // Settled on its thread; cb follows from the env's loop.
    Post(j->sender, Cmd{Cmd::kAbort, nullptr, j->id});
    return Napi::Boolean::New(env, true);
  }
  Failure f;
  AbortFailureFor(j, &f);
  Settle(j, &f, true);
  return Napi::Boolean::New(env, true);
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return Throw(env, "sendfileSetThreads: bad count");
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < -1 || n > 16) return Throw(env, "sendfileSetThreads: count must be -1 (default) or 0..16");
  std::lock_guard<std::mutex> lock(g_senders_mu);
  if (g_senders.empty()) g_sender_threads = n < 0 ? DefaultSenderThreads() : n;
  return Napi::Number::New(env, g_sender_threads);
}

Napi::Value SetNopush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean()) return Throw(env, "sendfileSetNopush: expected a boolean");
  g_nopush = info[0].As<Napi::Boolean>().Value();
  return Napi::Boolean::New(env, g_nopush.load());
}

Napi::Value Active(const Napi::CallbackInfo& info) {
  State* st = static_cast<State*>(info.Data());
  return Napi::Number::New(info.Env(), static_cast<double>(st->active.size()));
}

// Env teardown (worker exit, embedder shutdown): close every handle without
// calling into JS; node keeps running the loop until we remove the hook.
void OnTeardown(napi_async_cleanup_hook_handle /*handle*/, void* arg) {
  State* st = static_cast<State*>(arg);
  st->tearing_down = true;
  std::vector<Job*> jobs;
  for (auto& kv : st->active) jobs.push_back(kv.second);
  for (Job* j : jobs) {
    if (j->sender) Post(j->sender, Cmd{Cmd::kAbort, nullptr, j->id});
    else Settle(j, nullptr, false);
  }
  MaybeFinishTeardown(st);
}

}  // namespace

void SocketIoInit(Napi::Env env, Napi::Object exports) {
  State* st = new State();
  st->env = env;
  if (napi_get_uv_event_loop(env, &st->loop) != napi_ok) {
    delete st;
    Napi::Error::New(env, "sendfile: no uv loop").ThrowAsJavaScriptException();
    return;
  }
  uv_async_init(st->loop, &st->done_async, OnDone);
  st->done_async.data = st;
  uv_unref(reinterpret_cast<uv_handle_t*>(&st->done_async));  // ref'd only while sends are out
  napi_add_async_cleanup_hook(env, OnTeardown, st, &st->cleanup);
  exports.Set("sendfileStart", Napi::Function::New(env, Start, "sendfileStart", st));
  exports.Set("sendfileAbort", Napi::Function::New(env, Abort, "sendfileAbort", st));
  exports.Set("sendfileActive", Napi::Function::New(env, Active, "sendfileActive", st));
  exports.Set("sendfileSetThreads", Napi::Function::New(env, SetThreads, "sendfileSetThreads", st));
  exports.Set("sendfileSetNopush", Napi::Function::New(env, SetNopush, "sendfileSetNopush", st));
  exports.Set("recvStart", Napi::Function::New(env, RecvStart, "recvStart", st));
  exports.Set("recvAbort", Napi::Function::New(env, Abort, "recvAbort", st));
  exports.Set("chunkedOpen", Napi::Function::New(env, ChunkedOpen, "chunkedOpen", st));
  exports.Set("chunkedRecv", Napi::Function::New(env, ChunkedRecv, "chunkedRecv", st));
  exports.Set("chunkedClose", Napi::Function::New(env, ChunkedClose, "chunkedClose", st));
}

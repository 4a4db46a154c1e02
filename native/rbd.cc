// librados/librbd bindings for the RBD store (C API only: librbd.hpp needs
// libradospp-dev). Built as its own addon (build/Release/imaged_rbd.node)
// only where /usr/include/rbd/librbd.h exists; src/native/rbd.ts wraps it.
//
// Threading
//   - connect / fsid / openPool / create / open / remove / list / stat /
//     resize / snap* / listChildren / close / shutdown: one Napi::AsyncWorker
//     each (libuv threadpool). The JS thread never calls a librados/librbd
//     function that can block.
//   - write / read / flush: rbd_aio_write / rbd_aio_read / rbd_aio_flush. The
//     completion callback runs on a librbd thread; it queues the result and
//     wakes the loop with one uv_async_t per env (Hub), whose callback settles
//     the promises inside a callback scope. No threadpool thread per I/O; any
//     number of ops may be in flight. The rbd_aio_* calls themselves are made
//     by one submitter thread per env (FIFO, so a flush follows the writes
//     before it): with librbd's default, safe settings rbd_aio_write copies
//     the buffer before returning, ~3 ms per 4 MiB that must not be spent on
//     the event loop. The binding does not copy: a strong napi_ref keeps the
//     JS Buffer alive until the op settles, and librbd reads into it directly.
//
// Handle life cycle
//   Cluster owns its open Pools and Images (lists under Cluster::mu). Every
//   op counts itself in Child::busy and Cluster::busy_total from submission
//   until the native call (or the aio callback) has returned; close() /
//   shutdown() first mark the handle closing on the JS thread (later ops
//   reject with EBADF), then their worker waits for the counters to drain and
//   releases the native handle: rbd_close, rados_ioctx_destroy, and for a
//   cluster every child still open, then rados_shutdown. Double close resolves
//   at once. librbd duplicates the pool's ioctx, so an image outlives
//   pool.close(); nothing outlives cluster.shutdown().
//   At env teardown (worker exit, embedder shutdown) an async cleanup hook
//   closes every cluster still open (waiting at most kTeardownWaitSec for
//   in-flight aio), stops the submitter thread and closes the uv_async
//   handle. process.exit() and fatal exceptions skip cleanup hooks: an atexit
//   handler closes the clusters of every env then. A handle whose JS object is
//   garbage-collected without close() stays open until its cluster's
//   shutdown() or env teardown.
//
// Errors
//   Promises reject with an Error whose message names the operation, target
//   and failing C function, with `code` (errno name: ENOENT, EBUSY, ...),
//   `errno` (positive) and `op`. Using a closed handle: EBADF.
//
// Exports (all return promises unless noted; handles are opaque objects):
//   connect(user, confFile|null, keyring|null, timeoutSec, [k, v, k, v...]) -> cluster
//   clusterFsid(c) -> string        clusterOpenPool(c, name) -> pool
//   clusterShutdown(c)
//   poolCreate(p, name, size, order, features|-1)     poolOpen(p, name, snap|null, readOnly) -> image
//   poolRemove(p, name)   poolList(p) -> string[]     poolClose(p)
//   imageStat(i) -> {size, order, objSize, numObjs}   imageResize(i, size)
//   imageWrite(i, offset, buf)   imageRead(i, offset, buf) -> bytes   imageFlush(i)
//   imageSnapCreate/Protect/Unprotect/Remove(i, snap) imageSnapIsProtected(i, snap) -> bool
//   imageSnapList(i) -> [{name, id, size}]            imageListChildren(i, snap) -> [{pool, image, id, trash}]
//   imageClose(i)
//   aioInflight() -> number (sync)   versions() -> {rados, rbd} (sync)
#include "rbd.h"

#include <errno.h>
#include <node_api.h>
#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

constexpr uint64_t kMaxSafeInteger = (1ull << 53) - 1;
constexpr int kTeardownWaitSec = 10;

struct State;
struct Cluster;

// ---------------------------------------------------------------- handles

struct Child {
  std::shared_ptr<Cluster> cluster;
  std::string name;      // "pool" or "pool/image[@snap]", for messages
  bool closing = false;  // JS thread: close() called (or cluster shutdown)
  int busy = 0;          // cluster->mu: ops in flight on this handle
  bool closed = false;   // cluster->mu: native handle released
};

struct Pool : Child {
  rados_ioctx_t io = nullptr;
};

struct Image : Child {
  rbd_image_t img = nullptr;
  int64_t pool_id = -1;
  std::string pool_name;
  std::string image_name;
  std::string id;  // empty for format 1
};

struct Cluster {
  std::shared_ptr<State> st;
  std::string user;
  rados_t rados = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  int busy_total = 0;     // mu: ops on the cluster or any child, child closes
  bool closing = false;   // JS thread
  bool closed = false;    // mu
  std::vector<std::shared_ptr<Pool>> pools;    // mu: open pools
  std::vector<std::shared_ptr<Image>> images;  // mu: open images
};

struct AioOp;

// Completed aio ops travel from librbd threads to the JS thread here.
struct Hub {
  std::mutex mu;
  bool alive = true;            // mu: false once the env is torn down
  std::vector<AioOp*> queue;    // mu
  uv_async_t* async = nullptr;  // closed at teardown
  size_t inflight = 0;          // JS thread: submitted, not yet settled
};

// One thread per env that makes the rbd_aio_* calls (see SubmitOp), FIFO.
struct Submitter {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<AioOp*> queue;  // mu
  bool stop = false;         // mu
  std::thread thread;        // started on the first aio op, joined at teardown
};

struct State {
  napi_env env = nullptr;
  uv_loop_t* loop = nullptr;
  std::mutex mu;
  bool tearing_down = false;                       // mu
  std::vector<std::shared_ptr<Cluster>> clusters;  // mu: connected, not shut down
  std::shared_ptr<Hub> hub;
  std::shared_ptr<Submitter> sub;
  napi_async_context actx = nullptr;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  std::shared_ptr<State>* self = nullptr;  // keeps State alive until teardown ends
};

enum Kind { kCluster = 0, kPool = 1, kImage = 2 };

const napi_type_tag kTags[3] = {
    {0x8c1f4e0a2b7d4c11ull, 0x9a3e5f60c1d2b301ull},
    {0x8c1f4e0a2b7d4c11ull, 0x9a3e5f60c1d2b302ull},
    {0x8c1f4e0a2b7d4c11ull, 0x9a3e5f60c1d2b303ull},
};
const char* const kKindNames[3] = {"cluster", "pool", "image"};

// What a JS handle object wraps.
struct Ref {
  std::shared_ptr<Cluster> c;
  std::shared_ptr<Pool> p;
  std::shared_ptr<Image> i;
};

// JS thread. Counts an op in; false if the handle (or its cluster) is closing.
bool Begin(Cluster* c, Child* n) {
  if (c->closing || (n && n->closing)) return false;
  std::lock_guard<std::mutex> lk(c->mu);
  c->busy_total++;
  if (n) n->busy++;
  return true;
}

// Any thread, once the native call has returned (or the aio callback ran).
void End(Cluster* c, Child* n) {
  std::lock_guard<std::mutex> lk(c->mu);
  c->busy_total--;
  if (n) n->busy--;
  c->cv.notify_all();
}

template <typename T>
void Erase(std::vector<std::shared_ptr<T>>& v, const T* x) {
  v.erase(std::remove_if(v.begin(), v.end(),
                         [x](const std::shared_ptr<T>& e) { return e.get() == x; }),
          v.end());
}

// ---------------------------------------------------------------- errors

std::string ErrnoName(int err) {
  const char* n = strerrorname_np(err);
  return n ? std::string(n) : "E" + std::to_string(err);
}

std::string ErrnoDesc(int err) {
  const char* d = strerrordesc_np(err);
  return d ? std::string(d) : "error " + std::to_string(err);
}

// err: positive errno. fn: failing C function ("" if none). desc: overrides strerror.
Napi::Value MakeError(Napi::Env env, const std::string& op, const std::string& target,
                      const std::string& fn, int err, const std::string& desc = "") {
  std::string code = ErrnoName(err);
  std::string msg = op;
  if (!target.empty()) msg += "(" + target + ")";
  msg += ": ";
  if (!fn.empty()) msg += fn + " failed: ";
  msg += (desc.empty() ? ErrnoDesc(err) : desc) + " (" + code + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  Napi::Object o = e.Value();
  o.Set("code", Napi::String::New(env, code));
  o.Set("errno", Napi::Number::New(env, err));
  o.Set("op", Napi::String::New(env, op));
  return o;
}

Napi::Value RejectedPromise(Napi::Env env, Napi::Value err) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(err);
  return d.Promise();
}

Napi::Value ResolvedPromise(Napi::Env env) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Resolve(env.Undefined());
  return d.Promise();
}

Napi::Value ClosedError(Napi::Env env, const std::string& op, const std::string& target,
                        const char* what) {
  return MakeError(env, op, target, "", EBADF, std::string(what) + " handle is closed");
}

Napi::Value ThrowType(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return Napi::Value();
}

// ---------------------------------------------------------------- JS handles

Napi::Value WrapRef(Napi::Env env, Ref* r, Kind kind) {
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) {
    delete r;
    return Napi::Value();
  }
  if (napi_wrap(env, obj, r, [](napi_env, void* data, void*) { delete static_cast<Ref*>(data); },
                nullptr, nullptr) != napi_ok) {
    delete r;
    return Napi::Value();
  }
  napi_type_tag_object(env, obj, &kTags[kind]);
  return Napi::Value(env, obj);
}

Ref* UnwrapRef(const Napi::Value& v, Kind kind) {
  if (!v.IsObject()) return nullptr;
  bool ok = false;
  if (napi_check_object_type_tag(v.Env(), v, &kTags[kind], &ok) != napi_ok || !ok) return nullptr;
  void* p = nullptr;
  if (napi_unwrap(v.Env(), v, &p) != napi_ok) return nullptr;
  return static_cast<Ref*>(p);
}

// ---------------------------------------------------------------- arguments

bool GetUint(const Napi::Value& v, uint64_t max, uint64_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < 0 || d != std::floor(d) || d > static_cast<double>(max)) return false;
  *out = static_cast<uint64_t>(d);
  return true;
}

bool GetString(const Napi::Value& v, std::string* out) {
  if (!v.IsString()) return false;
  *out = v.As<Napi::String>().Utf8Value();
  return out->find('\0') == std::string::npos;
}

// string or null/undefined (-> *has = false)
bool GetOptString(const Napi::Value& v, std::string* out, bool* has) {
  if (v.IsNull() || v.IsUndefined()) {
    *has = false;
    return true;
  }
  *has = true;
  return GetString(v, out);
}

bool GetBytes(const Napi::Value& v, char** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  napi_typedarray_type type;
  size_t length;
  void* ptr;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(v.Env(), v, &type, &length, &ptr, &ab, &off) != napi_ok) return false;
  if (type != napi_uint8_array) return false;
  *data = static_cast<char*>(ptr);
  *len = length;
  return true;
}

// ---------------------------------------------------------------- workers

class Work final : public Napi::AsyncWorker {
 public:
  // Runs on the threadpool: returns 0 or -errno and names the failing C call in fn.
  using Exec = std::function<int(std::string& fn)>;
  // JS thread, on success only.
  using Done = std::function<Napi::Value(Napi::Env)>;

  Work(Napi::Env env, std::string op, std::string target, Exec exec, Done done,
       std::function<void()> end)
      : Napi::AsyncWorker(env, "imaged:rbd"),
        deferred_(Napi::Promise::Deferred::New(env)),
        op_(std::move(op)),
        target_(std::move(target)),
        exec_(std::move(exec)),
        done_(std::move(done)),
        end_(std::move(end)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    rc_ = exec_(fn_);
    if (end_) end_();
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (rc_ < 0) {
      deferred_.Reject(MakeError(env, op_, target_, fn_, -rc_));
      return;
    }
    Napi::Value v = done_ ? done_(env) : env.Undefined();
    if (v.IsEmpty()) {
      Napi::Value e = env.IsExceptionPending() ? env.GetAndClearPendingException().Value()
                                               : MakeError(env, op_, target_, "", ENOMEM);
      deferred_.Reject(e);
      return;
    }
    deferred_.Resolve(v);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string op_, target_, fn_;
  Exec exec_;
  Done done_;
  std::function<void()> end_;
  int rc_ = 0;
};

Napi::Value Run(Napi::Env env, std::string op, std::string target, Work::Exec exec,
                Work::Done done, std::function<void()> end) {
  auto* w = new Work(env, std::move(op), std::move(target), std::move(exec), std::move(done),
                     std::move(end));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// An op on a cluster (n == nullptr) or child handle: counted in/out around exec.
Napi::Value RunOn(Napi::Env env, const std::shared_ptr<Cluster>& c,
                  const std::shared_ptr<Child>& n, const char* what, std::string op,
                  std::string target, Work::Exec exec, Work::Done done = nullptr) {
  if (!Begin(c.get(), n.get())) return RejectedPromise(env, ClosedError(env, op, target, what));
  return Run(env, std::move(op), std::move(target), std::move(exec), std::move(done),
             [c, n]() { End(c.get(), n.get()); });
}

// ---------------------------------------------------------------- connect

Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State* st = static_cast<State*>(info.Data());
  std::string user, conf, keyring;
  bool has_conf = false, has_keyring = false;
  uint64_t timeout = 0;
  if (info.Length() < 5) return ThrowType(env, "connect: expected 5 arguments");
  if (!GetString(info[0], &user) || user.empty()) return ThrowType(env, "connect: bad user");
  if (!GetOptString(info[1], &conf, &has_conf)) return ThrowType(env, "connect: bad confFile");
  if (!GetOptString(info[2], &keyring, &has_keyring)) return ThrowType(env, "connect: bad keyring");
  if (!GetUint(info[3], 86400 * 365, &timeout)) return ThrowType(env, "connect: bad timeoutSec");
  std::vector<std::pair<std::string, std::string>> conf_pairs;
  if (!info[4].IsArray()) return ThrowType(env, "connect: bad config");
  Napi::Array arr = info[4].As<Napi::Array>();
  if (arr.Length() % 2 != 0) return ThrowType(env, "connect: bad config");
  for (uint32_t k = 0; k < arr.Length(); k += 2) {
    std::string a, b;
    if (!GetString(arr.Get(k), &a) || !GetString(arr.Get(k + 1), &b))
      return ThrowType(env, "connect: bad config entry");
    conf_pairs.emplace_back(std::move(a), std::move(b));
  }
  std::shared_ptr<State> sst = *st->self;
  auto out = std::make_shared<std::shared_ptr<Cluster>>();
  std::string target = "client." + user;
  Work::Exec exec = [sst, user, conf, has_conf, keyring, has_keyring, timeout, conf_pairs,
                     out](std::string& fn) -> int {
    rados_t r = nullptr;
    fn = "rados_create";
    int rc = rados_create(&r, user.c_str());
    if (rc < 0) return rc;
    auto fail = [r](int e) {
      rados_shutdown(r);
      return e;
    };
    fn = has_conf ? "rados_conf_read_file " + conf : "rados_conf_read_file (default search path)";
    rc = rados_conf_read_file(r, has_conf ? conf.c_str() : nullptr);
    if (rc < 0) return fail(rc);
    std::vector<std::pair<std::string, std::string>> set;
    if (has_keyring) set.emplace_back("keyring", keyring);
    if (timeout > 0) {
      std::string t = std::to_string(timeout);
      set.emplace_back("client_mount_timeout", t);
      set.emplace_back("rados_mon_op_timeout", t);
      set.emplace_back("rados_osd_op_timeout", t);
    }
    // aio submission must never block the JS thread (queue to librbd's own threads).
    set.emplace_back("rbd_non_blocking_aio", "true");
    for (const auto& kv : conf_pairs) set.push_back(kv);
    for (const auto& kv : set) {
      fn = "rados_conf_set " + kv.first;
      rc = rados_conf_set(r, kv.first.c_str(), kv.second.c_str());
      if (rc < 0) return fail(rc);
    }
    fn = "rados_connect";
    rc = rados_connect(r);
    if (rc < 0) return fail(rc);
    auto c = std::make_shared<Cluster>();
    c->st = sst;
    c->user = user;
    c->rados = r;
    {
      std::lock_guard<std::mutex> lk(sst->mu);
      if (!sst->tearing_down) {
        sst->clusters.push_back(c);
        *out = c;
        return 0;
      }
    }
    rados_shutdown(r);
    fn = "connect (environment is shutting down)";
    return -ESHUTDOWN;
  };
  Work::Done done = [out](Napi::Env env) -> Napi::Value {
    return WrapRef(env, new Ref{*out, nullptr, nullptr}, kCluster);
  };
  return Run(env, "connect", target, exec, done, nullptr);
}

// ---------------------------------------------------------------- cluster

#define UNWRAP(var, idx, kind, opname)                                              \
  Ref* var = info.Length() > (idx) ? UnwrapRef(info[idx], kind) : nullptr;          \
  if (!var) return ThrowType(env, std::string(opname) + ": expected a " + kKindNames[kind] + \
                                      " handle")

Napi::Value ClusterFsid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kCluster, "fsid");
  auto c = r->c;
  auto out = std::make_shared<std::string>();
  return RunOn(
      env, c, nullptr, "cluster", "fsid", "client." + c->user,
      [c, out](std::string& fn) -> int {
        char buf[64];
        fn = "rados_cluster_fsid";
        int rc = rados_cluster_fsid(c->rados, buf, sizeof buf);
        if (rc < 0) return rc;
        out->assign(buf, static_cast<size_t>(rc));
        return 0;
      },
      [out](Napi::Env env) -> Napi::Value { return Napi::String::New(env, *out); });
}

Napi::Value ClusterOpenPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kCluster, "openPool");
  std::string name;
  if (!GetString(info[1], &name) || name.empty()) return ThrowType(env, "openPool: bad pool name");
  auto c = r->c;
  auto out = std::make_shared<std::shared_ptr<Pool>>();
  return RunOn(
      env, c, nullptr, "cluster", "openPool", name,
      [c, name, out](std::string& fn) -> int {
        rados_ioctx_t io = nullptr;
        fn = "rados_ioctx_create";
        int rc = rados_ioctx_create(c->rados, name.c_str(), &io);
        if (rc < 0) return rc;
        auto p = std::make_shared<Pool>();
        p->cluster = c;
        p->name = name;
        p->io = io;
        std::lock_guard<std::mutex> lk(c->mu);
        c->pools.push_back(p);
        *out = p;
        return 0;
      },
      [c, out](Napi::Env env) -> Napi::Value {
        return WrapRef(env, new Ref{c, *out, nullptr}, kPool);
      });
}

// Waits for busy_total == 0 (bounded when wait_sec > 0), then releases every
// child and the rados handle. Returns false on timeout (nothing released).
bool ShutdownCluster(const std::shared_ptr<Cluster>& c, int wait_sec) {
  std::vector<std::shared_ptr<Image>> imgs;
  std::vector<std::shared_ptr<Pool>> pools;
  rados_t r;
  {
    std::unique_lock<std::mutex> lk(c->mu);
    auto idle = [&c] { return c->busy_total == 0; };
    if (wait_sec > 0) {
      if (!c->cv.wait_for(lk, std::chrono::seconds(wait_sec), idle)) return false;
    } else {
      c->cv.wait(lk, idle);
    }
    if (c->closed) return true;
    imgs.swap(c->images);
    pools.swap(c->pools);
    for (auto& i : imgs) i->closed = true;
    for (auto& p : pools) p->closed = true;
    r = c->rados;
    c->rados = nullptr;
    c->closed = true;
  }
  for (auto& i : imgs) {
    rbd_close(i->img);
    i->img = nullptr;
  }
  for (auto& p : pools) {
    rados_ioctx_destroy(p->io);
    p->io = nullptr;
  }
  if (r) rados_shutdown(r);
  return true;
}

Napi::Value ClusterShutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kCluster, "shutdown");
  auto c = r->c;
  if (c->closing) return ResolvedPromise(env);
  c->closing = true;
  {
    std::lock_guard<std::mutex> lk(c->mu);
    for (auto& p : c->pools) p->closing = true;
    for (auto& i : c->images) i->closing = true;
  }
  return Run(
      env, "shutdown", "client." + c->user,
      [c](std::string&) -> int {
        ShutdownCluster(c, 0);
        std::lock_guard<std::mutex> lk(c->st->mu);
        Erase(c->st->clusters, c.get());
        return 0;
      },
      nullptr, nullptr);
}

// ---------------------------------------------------------------- pool

Napi::Value PoolCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kPool, "create");
  std::string name;
  uint64_t size, order;
  if (!GetString(info[1], &name) || name.empty()) return ThrowType(env, "create: bad image name");
  if (!GetUint(info[2], kMaxSafeInteger, &size)) return ThrowType(env, "create: bad size");
  if (!GetUint(info[3], 64, &order)) return ThrowType(env, "create: bad order");
  if (!info[4].IsNumber()) return ThrowType(env, "create: bad features");
  double fd = info[4].As<Napi::Number>().DoubleValue();
  bool default_features = fd < 0;
  uint64_t features = 0;
  if (!default_features && !GetUint(info[4], kMaxSafeInteger, &features))
    return ThrowType(env, "create: bad features");
  auto p = r->p;
  return RunOn(env, p->cluster, p, "pool", "create", p->name + "/" + name,
               [p, name, size, order, default_features, features](std::string& fn) -> int {
                 rbd_image_options_t o;
                 rbd_image_options_create(&o);
                 fn = "rbd_image_options_set";
                 int rc = rbd_image_options_set_uint64(o, RBD_IMAGE_OPTION_FORMAT, 2);
                 if (rc == 0 && order != 0)
                   rc = rbd_image_options_set_uint64(o, RBD_IMAGE_OPTION_ORDER, order);
                 if (rc == 0 && !default_features)
                   rc = rbd_image_options_set_uint64(o, RBD_IMAGE_OPTION_FEATURES, features);
                 if (rc == 0) {
                   fn = "rbd_create4";
                   rc = rbd_create4(p->io, name.c_str(), size, o);
                 }
                 rbd_image_options_destroy(o);
                 return rc;
               });
}

Napi::Value PoolOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kPool, "open");
  std::string name, snap;
  bool has_snap = false;
  if (!GetString(info[1], &name) || name.empty()) return ThrowType(env, "open: bad image name");
  if (!GetOptString(info[2], &snap, &has_snap)) return ThrowType(env, "open: bad snap");
  bool ro = info.Length() > 3 && info[3].ToBoolean().Value();
  auto p = r->p;
  auto c = p->cluster;
  std::string target = p->name + "/" + name + (has_snap ? "@" + snap : "");
  auto out = std::make_shared<std::shared_ptr<Image>>();
  return RunOn(
      env, c, p, "pool", "open", target,
      [p, c, name, snap, has_snap, ro, target, out](std::string& fn) -> int {
        rbd_image_t img = nullptr;
        const char* s = has_snap ? snap.c_str() : nullptr;
        fn = ro ? "rbd_open_read_only" : "rbd_open";
        int rc = ro ? rbd_open_read_only(p->io, name.c_str(), &img, s)
                    : rbd_open(p->io, name.c_str(), &img, s);
        if (rc < 0) return rc;
        auto i = std::make_shared<Image>();
        i->cluster = c;
        i->name = target;
        i->img = img;
        i->image_name = name;
        i->pool_name = p->name;
        i->pool_id = rados_ioctx_get_id(p->io);
        char id[128];
        if (rbd_get_id(img, id, sizeof id) == 0) i->id = id;  // -EINVAL for format 1
        std::lock_guard<std::mutex> lk(c->mu);
        c->images.push_back(i);
        *out = i;
        return 0;
      },
      [c, out](Napi::Env env) -> Napi::Value {
        return WrapRef(env, new Ref{c, nullptr, *out}, kImage);
      });
}

Napi::Value PoolRemove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kPool, "remove");
  std::string name;
  if (!GetString(info[1], &name) || name.empty()) return ThrowType(env, "remove: bad image name");
  auto p = r->p;
  return RunOn(env, p->cluster, p, "pool", "remove", p->name + "/" + name,
               [p, name](std::string& fn) -> int {
                 fn = "rbd_remove";
                 return rbd_remove(p->io, name.c_str());
               });
}

Napi::Value PoolList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kPool, "list");
  auto p = r->p;
  auto out = std::make_shared<std::vector<std::string>>();
  return RunOn(
      env, p->cluster, p, "pool", "list", p->name,
      [p, out](std::string& fn) -> int {
        fn = "rbd_list2";
        size_t max = 64;
        std::vector<rbd_image_spec_t> v;
        int rc;
        for (int tries = 0; tries < 16; tries++) {
          v.resize(max);
          size_t n = max;
          rc = rbd_list2(p->io, v.data(), &n);
          if (rc == -ERANGE) {
            max = std::max(n, max * 2);
            continue;
          }
          if (rc < 0) return rc;
          for (size_t k = 0; k < n; k++) out->emplace_back(v[k].name);
          rbd_image_spec_list_cleanup(v.data(), n);
          return 0;
        }
        return rc;
      },
      [out](Napi::Env env) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, out->size());
        for (size_t k = 0; k < out->size(); k++) a.Set(static_cast<uint32_t>(k), (*out)[k]);
        return a;
      });
}

Napi::Value PoolClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kPool, "close");
  auto p = r->p;
  auto c = p->cluster;
  if (p->closing || c->closing) return ResolvedPromise(env);
  p->closing = true;
  {
    std::lock_guard<std::mutex> lk(c->mu);
    c->busy_total++;
  }
  return Run(
      env, "close", p->name,
      [p, c](std::string&) -> int {
        rados_ioctx_t io = nullptr;
        {
          std::unique_lock<std::mutex> lk(c->mu);
          c->cv.wait(lk, [&p] { return p->busy == 0; });
          if (p->closed) return 0;
          io = p->io;
        }
        rados_ioctx_destroy(io);
        std::lock_guard<std::mutex> lk(c->mu);
        p->io = nullptr;
        p->closed = true;
        Erase(c->pools, p.get());
        return 0;
      },
      nullptr, [c]() { End(c.get(), nullptr); });
}

// ---------------------------------------------------------------- image (sync ops)

Napi::Value ImageSimple(const Napi::CallbackInfo& info, const char* op, const char* fn_name,
                        std::function<int(rbd_image_t, const std::string&, uint64_t)> call,
                        int arg_kind /* 0 none, 1 snap name, 2 size */) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kImage, op);
  std::string s;
  uint64_t n = 0;
  if (arg_kind == 1 && (!GetString(info[1], &s) || s.empty()))
    return ThrowType(env, std::string(op) + ": bad snapshot name");
  if (arg_kind == 2 && !GetUint(info[1], kMaxSafeInteger, &n))
    return ThrowType(env, std::string(op) + ": bad size");
  auto i = r->i;
  std::string target = i->name + (arg_kind == 1 ? "@" + s : "");
  std::string fname = fn_name;
  return RunOn(env, i->cluster, i, "image", op, target,
               [i, s, n, call, fname](std::string& fn) -> int {
                 fn = fname;
                 return call(i->img, s, n);
               });
}

Napi::Value ImageResize(const Napi::CallbackInfo& info) {
  return ImageSimple(info, "resize", "rbd_resize",
                     [](rbd_image_t im, const std::string&, uint64_t n) { return rbd_resize(im, n); }, 2);
}
Napi::Value ImageSnapCreate(const Napi::CallbackInfo& info) {
  return ImageSimple(info, "snapCreate", "rbd_snap_create",
                     [](rbd_image_t im, const std::string& s, uint64_t) { return rbd_snap_create(im, s.c_str()); }, 1);
}
Napi::Value ImageSnapProtect(const Napi::CallbackInfo& info) {
  return ImageSimple(info, "snapProtect", "rbd_snap_protect",
                     [](rbd_image_t im, const std::string& s, uint64_t) { return rbd_snap_protect(im, s.c_str()); }, 1);
}
Napi::Value ImageSnapUnprotect(const Napi::CallbackInfo& info) {
  return ImageSimple(info, "snapUnprotect", "rbd_snap_unprotect",
                     [](rbd_image_t im, const std::string& s, uint64_t) { return rbd_snap_unprotect(im, s.c_str()); }, 1);
}
Napi::Value ImageSnapRemove(const Napi::CallbackInfo& info) {
  return ImageSimple(info, "snapRemove", "rbd_snap_remove",
                     [](rbd_image_t im, const std::string& s, uint64_t) { return rbd_snap_remove(im, s.c_str()); }, 1);
}

Napi::Value ImageSnapIsProtected(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kImage, "snapIsProtected");
  std::string s;
  if (!GetString(info[1], &s) || s.empty()) return ThrowType(env, "snapIsProtected: bad snapshot name");
  auto i = r->i;
  auto out = std::make_shared<int>(0);
  return RunOn(
      env, i->cluster, i, "image", "snapIsProtected", i->name + "@" + s,
      [i, s, out](std::string& fn) -> int {
        fn = "rbd_snap_is_protected";
        return rbd_snap_is_protected(i->img, s.c_str(), out.get());
      },
      [out](Napi::Env env) -> Napi::Value { return Napi::Boolean::New(env, *out != 0); });
}

Napi::Value ImageStat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kImage, "stat");
  auto i = r->i;
  auto out = std::make_shared<rbd_image_info_t>();
  return RunOn(
      env, i->cluster, i, "image", "stat", i->name,
      [i, out](std::string& fn) -> int {
        fn = "rbd_stat";
        return rbd_stat(i->img, out.get(), sizeof(rbd_image_info_t));
      },
      [out](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("size", Napi::Number::New(env, static_cast<double>(out->size)));
        o.Set("order", Napi::Number::New(env, out->order));
        o.Set("objSize", Napi::Number::New(env, static_cast<double>(out->obj_size)));
        o.Set("numObjs", Napi::Number::New(env, static_cast<double>(out->num_objs)));
        return o;
      });
}

struct SnapEntry {
  std::string name;
  uint64_t id, size;
};

Napi::Value ImageSnapList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kImage, "snapList");
  auto i = r->i;
  auto out = std::make_shared<std::vector<SnapEntry>>();
  return RunOn(
      env, i->cluster, i, "image", "snapList", i->name,
      [i, out](std::string& fn) -> int {
        fn = "rbd_snap_list";
        int max = 16;
        int rc = -ERANGE;
        for (int tries = 0; tries < 16 && rc == -ERANGE; tries++) {
          std::vector<rbd_snap_info_t> v(static_cast<size_t>(max) + 1);
          int n = max;
          rc = rbd_snap_list(i->img, v.data(), &n);
          if (rc == -ERANGE) {
            max = std::max(n, max * 2);
            continue;
          }
          if (rc < 0) return rc;
          for (int k = 0; k < rc; k++) out->push_back({v[k].name, v[k].id, v[k].size});
          rbd_snap_list_end(v.data());
          return 0;
        }
        return rc;
      },
      [out](Napi::Env env) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, out->size());
        for (size_t k = 0; k < out->size(); k++) {
          Napi::Object o = Napi::Object::New(env);
          o.Set("name", (*out)[k].name);
          o.Set("id", Napi::Number::New(env, static_cast<double>((*out)[k].id)));
          o.Set("size", Napi::Number::New(env, static_cast<double>((*out)[k].size)));
          a.Set(static_cast<uint32_t>(k), o);
        }
        return a;
      });
}

struct ChildEntry {
  std::string pool, ns, image, id;
  bool trash;
};

// Children of image@snap. Uses a temporary read-only handle opened at the
// snapshot (by image id), so the caller's handle keeps its snap context:
// rbd_snap_set on it would redirect concurrent I/O to the snapshot.
Napi::Value ImageListChildren(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kImage, "listChildren");
  std::string s;
  if (!GetString(info[1], &s) || s.empty()) return ThrowType(env, "listChildren: bad snapshot name");
  auto i = r->i;
  auto c = i->cluster;
  auto out = std::make_shared<std::vector<ChildEntry>>();
  return RunOn(
      env, c, i, "image", "listChildren", i->name + "@" + s,
      [i, c, s, out](std::string& fn) -> int {
        rados_ioctx_t io = nullptr;
        fn = "rados_ioctx_create2";
        int rc = rados_ioctx_create2(c->rados, i->pool_id, &io);
        if (rc < 0) return rc;
        rbd_image_t tmp = nullptr;
        if (!i->id.empty()) {
          fn = "rbd_open_by_id_read_only";
          rc = rbd_open_by_id_read_only(io, i->id.c_str(), &tmp, s.c_str());
        } else {
          fn = "rbd_open_read_only";
          rc = rbd_open_read_only(io, i->image_name.c_str(), &tmp, s.c_str());
        }
        if (rc == 0) {
          fn = "rbd_list_children3";
          size_t max = 16;
          rc = -ERANGE;
          for (int tries = 0; tries < 16 && rc == -ERANGE; tries++) {
            std::vector<rbd_linked_image_spec_t> v(max);
            size_t n = max;
            rc = rbd_list_children3(tmp, v.data(), &n);
            if (rc == -ERANGE) {
              max = std::max(n, max * 2);
              continue;
            }
            if (rc < 0) break;
            for (size_t k = 0; k < n; k++) {
              out->push_back({v[k].pool_name ? v[k].pool_name : "",
                              v[k].pool_namespace ? v[k].pool_namespace : "",
                              v[k].image_name ? v[k].image_name : "",
                              v[k].image_id ? v[k].image_id : "", v[k].trash});
            }
            rbd_linked_image_spec_list_cleanup(v.data(), n);
            rc = 0;
          }
          rbd_close(tmp);
        }
        rados_ioctx_destroy(io);
        return rc;
      },
      [out](Napi::Env env) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, out->size());
        for (size_t k = 0; k < out->size(); k++) {
          const ChildEntry& e = (*out)[k];
          Napi::Object o = Napi::Object::New(env);
          o.Set("pool", e.pool);
          o.Set("image", e.image);
          o.Set("id", e.id);
          o.Set("namespace", e.ns);
          o.Set("trash", Napi::Boolean::New(env, e.trash));
          a.Set(static_cast<uint32_t>(k), o);
        }
        return a;
      });
}

Napi::Value ImageClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP(r, 0, kImage, "close");
  auto i = r->i;
  auto c = i->cluster;
  if (i->closing || c->closing) return ResolvedPromise(env);
  i->closing = true;
  {
    std::lock_guard<std::mutex> lk(c->mu);
    c->busy_total++;
  }
  return Run(
      env, "close", i->name,
      [i, c](std::string& fn) -> int {
        rbd_image_t img = nullptr;
        {
          std::unique_lock<std::mutex> lk(c->mu);
          c->cv.wait(lk, [&i] { return i->busy == 0; });
          if (i->closed) return 0;
          img = i->img;
        }
        fn = "rbd_close";
        int rc = rbd_close(img);  // the handle is gone even if this fails
        std::lock_guard<std::mutex> lk(c->mu);
        i->img = nullptr;
        i->closed = true;
        Erase(c->images, i.get());
        return rc;
      },
      nullptr, [c]() { End(c.get(), nullptr); });
}

// ---------------------------------------------------------------- image aio

enum AioKind { kWrite, kRead, kFlush };

struct AioOp {
  std::shared_ptr<Hub> hub;
  std::shared_ptr<Image> img;
  AioKind kind;
  uint64_t offset = 0;
  size_t len = 0;
  char* data = nullptr;  // the JS buffer's memory, kept alive by `buf`
  napi_ref buf = nullptr;
  napi_deferred deferred = nullptr;
  ssize_t rv = 0;
  const char* fn = nullptr;  // failing C call for the message
  std::string desc;          // overrides strerror in the message
};

const char* AioOpName(AioKind k) {
  return k == kWrite ? "write" : k == kRead ? "read" : "flush";
}
const char* AioFnName(AioKind k) {
  return k == kWrite ? "rbd_aio_write" : k == kRead ? "rbd_aio_read" : "rbd_aio_flush";
}

std::string AioTarget(const AioOp* op) {
  if (op->kind == kFlush) return op->img->name;
  return op->img->name + " @" + std::to_string(op->offset) + "+" + std::to_string(op->len);
}

// Any thread: hands a finished op to the JS thread and counts it out.
void FinishOp(AioOp* op) {
  std::shared_ptr<Image> img = op->img;
  std::shared_ptr<Hub> hub = op->hub;
  {
    std::lock_guard<std::mutex> lk(hub->mu);
    if (hub->alive) {
      hub->queue.push_back(op);
      uv_async_send(hub->async);
      op = nullptr;
    }
  }
  delete op;  // env gone: its napi refs went with it
  End(img->cluster.get(), img.get());
}

// librbd thread.
void AioCallback(rbd_completion_t comp, void* arg) {
  AioOp* op = static_cast<AioOp*>(arg);
  op->rv = rbd_aio_get_return_value(comp);
  op->fn = AioFnName(op->kind);
  rbd_aio_release(comp);
  FinishOp(op);
}

// Submitter thread: the rbd_aio_* call itself. With librbd's defaults
// (rbd_disable_zero_copy_writes=true, rbd cache on) rbd_aio_write copies the
// whole buffer before returning (~3 ms per 4 MiB incl. page faults), so it is
// kept off the JS thread; the zero-copy mode is not used (unsafe if the data
// changes in flight, and it never completes a write that fails early, e.g.
// EROFS).
void SubmitOp(AioOp* op) {
  rbd_image_t img = op->img->img;  // open: the op is counted in img->busy
  int rc = 0;
  if (op->kind == kWrite) {
    // librbd silently clips a write that crosses the end of the image (and
    // completes it with 0): refuse it.
    uint64_t size = 0;
    rc = rbd_get_size(img, &size);
    if (rc < 0) {
      op->fn = "rbd_get_size";
    } else if (op->offset + op->len > size) {
      rc = -EINVAL;
      op->fn = "";
      op->desc = "write past the end of the image (size " + std::to_string(size) + ")";
    }
  }
  if (rc == 0) {
    rbd_completion_t comp = nullptr;
    op->fn = "rbd_aio_create_completion";
    rc = rbd_aio_create_completion(op, AioCallback, &comp);
    if (rc == 0) {
      op->fn = AioFnName(op->kind);
      switch (op->kind) {
        case kWrite: rc = rbd_aio_write(img, op->offset, op->len, op->data, comp); break;
        case kRead: rc = rbd_aio_read(img, op->offset, op->len, op->data, comp); break;
        case kFlush: rc = rbd_aio_flush(img, comp); break;
      }
      if (rc >= 0) return;  // AioCallback finishes it
      rbd_aio_release(comp);
    }
  }
  op->rv = rc;
  FinishOp(op);
}

void SubmitterMain(std::shared_ptr<Submitter> sub) {
  for (;;) {
    std::deque<AioOp*> batch;
    bool stop;
    {
      std::unique_lock<std::mutex> lk(sub->mu);
      sub->cv.wait(lk, [&sub] { return sub->stop || !sub->queue.empty(); });
      batch.swap(sub->queue);
      stop = sub->stop;
    }
    for (AioOp* op : batch) {
      if (stop) {
        op->rv = -ESHUTDOWN;
        op->fn = "";
        op->desc = "environment is shutting down";
        FinishOp(op);
      } else {
        SubmitOp(op);
      }
    }
    if (stop) return;
  }
}

// JS thread: settles every completed op inside one callback scope.
void OnAsync(uv_async_t* h) {
  State* st = static_cast<State*>(h->data);
  Hub* hub = st->hub.get();
  std::vector<AioOp*> q;
  {
    std::lock_guard<std::mutex> lk(hub->mu);
    q.swap(hub->queue);
  }
  if (q.empty()) return;
  napi_env env = st->env;
  napi_handle_scope hs;
  if (napi_open_handle_scope(env, &hs) != napi_ok) return;
  napi_value resource;
  napi_create_object(env, &resource);
  napi_callback_scope cs = nullptr;
  bool scoped = napi_open_callback_scope(env, resource, st->actx, &cs) == napi_ok;
  Napi::Env e(env);
  for (AioOp* op : q) {
    napi_handle_scope ohs;
    napi_open_handle_scope(env, &ohs);
    if (op->rv < 0) {
      napi_reject_deferred(env, op->deferred,
                           MakeError(e, AioOpName(op->kind), AioTarget(op), op->fn ? op->fn : "",
                                     static_cast<int>(-op->rv), op->desc));
    } else if (op->kind == kWrite && op->rv != 0 && static_cast<size_t>(op->rv) != op->len) {
      napi_reject_deferred(
          env, op->deferred,
          MakeError(e, "write", AioTarget(op), "rbd_aio_write", EIO,
                    "short write: " + std::to_string(op->rv) + " of " + std::to_string(op->len) +
                        " bytes"));
    } else if (op->kind == kRead) {
      napi_resolve_deferred(env, op->deferred, Napi::Number::New(e, static_cast<double>(op->rv)));
    } else {
      napi_resolve_deferred(env, op->deferred, e.Undefined());
    }
    if (op->buf) napi_delete_reference(env, op->buf);
    delete op;
    hub->inflight--;
    napi_close_handle_scope(env, ohs);
  }
  if (hub->inflight == 0) uv_unref(reinterpret_cast<uv_handle_t*>(h));
  if (scoped) napi_close_callback_scope(env, cs);  // drains microtasks
  napi_close_handle_scope(env, hs);
}

Napi::Value ImageAio(const Napi::CallbackInfo& info, AioKind kind) {
  Napi::Env env = info.Env();
  State* st = static_cast<State*>(info.Data());
  const char* opname = AioOpName(kind);
  UNWRAP(r, 0, kImage, opname);
  uint64_t offset = 0;
  char* data = nullptr;
  size_t len = 0;
  if (kind != kFlush) {
    if (info.Length() < 3 || !GetUint(info[1], kMaxSafeInteger, &offset))
      return ThrowType(env, std::string(opname) + ": bad offset");
    if (!GetBytes(info[2], &data, &len))
      return ThrowType(env, std::string(opname) + ": expected a Buffer or Uint8Array");
    if (offset + len > kMaxSafeInteger)
      return ThrowType(env, std::string(opname) + ": offset + length out of range");
  }
  auto i = r->i;
  auto c = i->cluster;
  auto* op = new AioOp();
  op->hub = st->hub;
  op->img = i;
  op->kind = kind;
  op->offset = offset;
  op->len = len;
  op->data = data;
  napi_value promise;
  if (napi_create_promise(env, &op->deferred, &promise) != napi_ok) {
    delete op;
    return ThrowType(env, std::string(opname) + ": cannot create promise");
  }
  if (!Begin(c.get(), i.get())) {
    napi_reject_deferred(env, op->deferred, ClosedError(env, opname, AioTarget(op), "image"));
    delete op;
    return Napi::Value(env, promise);
  }
  if (kind != kFlush) napi_create_reference(env, info[2], 1, &op->buf);
  Hub* hub = st->hub.get();
  if (hub->inflight++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(hub->async));
  Submitter* sub = st->sub.get();
  {
    std::lock_guard<std::mutex> lk(sub->mu);
    if (!sub->thread.joinable()) sub->thread = std::thread(SubmitterMain, st->sub);
    sub->queue.push_back(op);
  }
  sub->cv.notify_one();
  return Napi::Value(env, promise);
}

Napi::Value ImageWrite(const Napi::CallbackInfo& info) { return ImageAio(info, kWrite); }
Napi::Value ImageRead(const Napi::CallbackInfo& info) { return ImageAio(info, kRead); }
Napi::Value ImageFlush(const Napi::CallbackInfo& info) { return ImageAio(info, kFlush); }

Napi::Value AioInflight(const Napi::CallbackInfo& info) {
  State* st = static_cast<State*>(info.Data());
  return Napi::Number::New(info.Env(), static_cast<double>(st->hub->inflight));
}

Napi::Value Versions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int a, b, c;
  Napi::Object o = Napi::Object::New(env);
  rados_version(&a, &b, &c);
  o.Set("rados", std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c));
  rbd_version(&a, &b, &c);
  o.Set("rbd", std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c));
  return o;
}

// ---------------------------------------------------------------- teardown

void OnAsyncClosed(uv_handle_t* h) {
  State* st = static_cast<State*>(h->data);
  delete reinterpret_cast<uv_async_t*>(h);
  napi_remove_async_cleanup_hook(st->cleanup);
  delete st->self;  // may free st
}

// Env teardown: all threadpool work has completed by now (node drains it
// before running cleanup hooks); only aio can still be in flight. Closes every
// cluster still open, then the async handle; node keeps the loop running until
// the hook is removed in OnAsyncClosed.
void OnTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
  State* st = static_cast<State*>(arg);
  st->cleanup = handle;
  std::vector<std::shared_ptr<Cluster>> cs;
  {
    std::lock_guard<std::mutex> lk(st->mu);
    st->tearing_down = true;
    cs.swap(st->clusters);
  }
  for (auto& c : cs) {
    c->closing = true;
    ShutdownCluster(c, kTeardownWaitSec);  // on timeout: leaked, the process is going away
  }
  {
    std::lock_guard<std::mutex> lk(st->sub->mu);
    st->sub->stop = true;
  }
  st->sub->cv.notify_one();
  if (st->sub->thread.joinable()) st->sub->thread.join();
  std::vector<AioOp*> q;
  {
    std::lock_guard<std::mutex> lk(st->hub->mu);
    st->hub->alive = false;
    q.swap(st->hub->queue);
  }
  for (AioOp* op : q) {
    if (op->buf) napi_delete_reference(st->env, op->buf);
    delete op;
  }
  if (st->actx) {
    napi_async_destroy(st->env, st->actx);
    st->actx = nullptr;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(st->hub->async), OnAsyncClosed);
}

// process.exit() and fatal exceptions end the process without running env
// cleanup hooks: an atexit handler (registered after librados was loaded, so
// it runs before librados' static destructors) closes what is still open, so
// the cluster does not keep our watches for the 30 s watch timeout.
std::mutex g_states_mu;
std::vector<std::weak_ptr<State>> g_states;

void AtExit() {
  std::vector<std::shared_ptr<State>> states;
  {
    std::lock_guard<std::mutex> lk(g_states_mu);
    for (auto& w : g_states)
      if (auto s = w.lock()) states.push_back(s);
    g_states.clear();
  }
  for (auto& st : states) {
    std::vector<std::shared_ptr<Cluster>> cs;
    {
      std::lock_guard<std::mutex> lk(st->mu);
      st->tearing_down = true;
      cs.swap(st->clusters);
    }
    for (auto& c : cs) ShutdownCluster(c, kTeardownWaitSec);
  }
}

}  // namespace

void RbdInit(Napi::Env env, Napi::Object exports) {
  auto sp = std::make_shared<State>();
  State* st = sp.get();
  st->env = env;
  if (napi_get_uv_event_loop(env, &st->loop) != napi_ok) {
    Napi::Error::New(env, "rbd: no uv loop").ThrowAsJavaScriptException();
    return;
  }
  st->hub = std::make_shared<Hub>();
  st->sub = std::make_shared<Submitter>();
  st->hub->async = new uv_async_t();
  if (uv_async_init(st->loop, st->hub->async, OnAsync) != 0) {
    delete st->hub->async;
    Napi::Error::New(env, "rbd: uv_async_init failed").ThrowAsJavaScriptException();
    return;
  }
  st->hub->async->data = st;
  uv_unref(reinterpret_cast<uv_handle_t*>(st->hub->async));
  napi_value name;
  napi_create_string_utf8(env, "imaged:rbd:aio", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &st->actx);
  st->self = new std::shared_ptr<State>(sp);
  napi_add_async_cleanup_hook(env, OnTeardown, st, &st->cleanup);
  {
    static std::once_flag once;
    std::call_once(once, [] { atexit(AtExit); });
    std::lock_guard<std::mutex> lk(g_states_mu);
    g_states.erase(std::remove_if(g_states.begin(), g_states.end(),
                                  [](const std::weak_ptr<State>& w) { return w.expired(); }),
                   g_states.end());
    g_states.push_back(sp);
  }

  struct Fn {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  const Fn fns[] = {
      {"connect", Connect},
      {"clusterFsid", ClusterFsid},
      {"clusterOpenPool", ClusterOpenPool},
      {"clusterShutdown", ClusterShutdown},
      {"poolCreate", PoolCreate},
      {"poolOpen", PoolOpen},
      {"poolRemove", PoolRemove},
      {"poolList", PoolList},
      {"poolClose", PoolClose},
      {"imageStat", ImageStat},
      {"imageResize", ImageResize},
      {"imageWrite", ImageWrite},
      {"imageRead", ImageRead},
      {"imageFlush", ImageFlush},
      {"imageSnapCreate", ImageSnapCreate},
      {"imageSnapProtect", ImageSnapProtect},
      {"imageSnapUnprotect", ImageSnapUnprotect},
      {"imageSnapRemove", ImageSnapRemove},
      {"imageSnapList", ImageSnapList},
      {"imageSnapIsProtected", ImageSnapIsProtected},
      {"imageListChildren", ImageListChildren},
      {"imageClose", ImageClose},
      {"aioInflight", AioInflight},
      {"versions", Versions},
  };
  for (const Fn& f : fns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name, st));
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RbdInit(env, exports);
  return exports;
}

NODE_API_MODULE(imaged_rbd, Init)

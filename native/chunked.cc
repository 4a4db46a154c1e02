// chunkedDecode(bytes) -> { data, end, error }
//
//   Decodes a whole chunked body held in memory: data is the decoded payload
//   (a Buffer), end the index just past the body's final CRLF (-1 when more
//   input is needed), error the reason the framing is malformed (or null).
//   The HTTP layer runs it over what arrived with a request's head (a body that
//   is complete there stays on Node's stream); tests use it as the reference.
#include "chunked.h"

#include <string.h>

#include <algorithm>
#include <vector>

namespace {

int HexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void ChunkedDecoder::Fail(const char* why) {
  st_ = kFailed;
  error_ = why;
}

void ChunkedDecoder::TookData(uint64_t n) {
  left_ -= n;
  if (left_ == 0) st_ = kDataCr;
}

// One framing byte (everything but chunk data).
void ChunkedDecoder::Step(uint8_t c) {
  switch (st_) {
    case kSizeStart: {
      int v = HexValue(c);
      if (v < 0) return Fail("chunk size is not a hexadecimal number");
      left_ = static_cast<uint64_t>(v);
      line_ = 1;
      st_ = kSize;
      return;
    }
    case kSize:
    case kSizeWs:
    case kExt:
      if (++line_ > kMaxSizeLine) return Fail("chunk-size line is longer than 4096 bytes");
      if (c == '\r') {
        st_ = kSizeLf;
      } else if (c == '\n') {
        Fail("chunk-size line ends without CRLF");
      } else if (st_ == kExt) {
        // extensions are ignored; a quoted-string cannot hold CR or LF
      } else if (c == ';') {
        st_ = kExt;
      } else if (c == ' ' || c == '\t') {
        st_ = kSizeWs;  // BWS before an extension
      } else if (st_ == kSizeWs) {
        Fail("unexpected character after the chunk size");
      } else {
        int v = HexValue(c);
        if (v < 0) return Fail("chunk size is not a hexadecimal number");
        if (left_ > (kMaxChunk >> 4)) return Fail("chunk size is too large");
        left_ = left_ << 4 | static_cast<uint64_t>(v);
      }
      return;
    case kSizeLf:
      if (c != '\n') return Fail("chunk-size line ends without CRLF");
      st_ = left_ == 0 ? kTrailerStart : kData;
      return;
    case kDataCr:
      if (c != '\r') return Fail("chunk data is not followed by CRLF (longer than its chunk size?)");
      st_ = kDataLf;
      return;
    case kDataLf:
      if (c != '\n') return Fail("chunk data is not followed by CRLF (longer than its chunk size?)");
      st_ = kSizeStart;
      return;
    case kTrailerStart:
    case kTrailer:
      if (++trailer_ > kMaxTrailer) return Fail("trailer section is larger than 16384 bytes");
      if (c == '\r') {
        st_ = st_ == kTrailerStart ? kFinalLf : kTrailerLf;
      } else if (c == '\n') {
        Fail("trailer line ends without CRLF");
      } else {
        st_ = kTrailer;
      }
      return;
    case kTrailerLf:
      if (++trailer_ > kMaxTrailer) return Fail("trailer section is larger than 16384 bytes");
      if (c != '\n') return Fail("trailer line ends without CRLF");
      st_ = kTrailerStart;
      return;
    case kFinalLf:
      if (c != '\n') return Fail("chunked body does not end with CRLF");
      st_ = kDone;
      return;
    case kData:
    case kDone:
    case kFailed:
      return;  // not framing: Decode() never passes these
  }
}

size_t ChunkedDecoder::Decode(const uint8_t* in, size_t n, uint8_t* out, size_t cap, size_t* out_n) {
  size_t i = 0, o = 0;
  while (i < n && st_ != kDone && st_ != kFailed) {
    if (st_ != kData) {
      Step(in[i++]);
      continue;
    }
    if (out != nullptr && o == cap) break;
    size_t k = static_cast<size_t>(std::min<uint64_t>(left_, n - i));
    if (out != nullptr) {
      k = std::min(k, cap - o);
      memcpy(out + o, in + i, k);
    }
    i += k;
    o += k;
    TookData(k);
  }
  *out_n = o;
  return i;
}

namespace {

Napi::Value DecodeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "chunkedDecode(bytes)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_typedarray_type type;
  size_t len = 0;
  void* data = nullptr;
  napi_get_typedarray_info(env, info[0], &type, &len, &data, nullptr, nullptr);
  len = info[0].As<Napi::TypedArray>().ByteLength();
  const uint8_t* in = static_cast<const uint8_t*>(data);
  ChunkedDecoder d;
  std::vector<uint8_t> out(len);  // the payload is never longer than its encoding
  size_t out_n = 0;
  size_t used = len == 0 ? 0 : d.Decode(in, len, out.data(), out.size(), &out_n);
  Napi::Object r = Napi::Object::New(env);
  r.Set("data", Napi::Buffer<uint8_t>::Copy(env, out.data(), out_n));
  r.Set("end", Napi::Number::New(env, d.Done() ? static_cast<double>(used) : -1));
  r.Set("error", d.Failed() ? Napi::String::New(env, d.Error()) : env.Null());
  return r;
}

}  // namespace

void ChunkedInit(Napi::Env env, Napi::Object exports) {
  exports.Set("chunkedDecode", Napi::Function::New(env, DecodeJs, "chunkedDecode"));
}

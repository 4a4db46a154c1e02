// HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1) as a byte-at-a-time
// state machine: no buffering of its own, so a chunk-size line, a CRLF or a
// trailer may be split anywhere between reads. Used by the native upload path
// (socket_io.cc), which receives chunk data straight into the caller's memory
// and gives only the framing bytes to Decode().
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>

class ChunkedDecoder {
 public:
  // A chunk-size line (size + extensions) longer than this is refused: the
  // extensions are ignored anyway, and an endless line must not be read.
  static constexpr uint32_t kMaxSizeLine = 4096;
  // The trailer section (ignored, as Glance does) is bounded like a header.
  static constexpr uint32_t kMaxTrailer = 16384;
  // Largest chunk size accepted: a JS safe integer (any image is far smaller).
  static constexpr uint64_t kMaxChunk = (1ull << 53) - 1;

  bool Done() const { return st_ == kDone; }
  bool Failed() const { return st_ == kFailed; }
  const char* Error() const { return error_; }
  bool InData() const { return st_ == kData; }
  // Data bytes still to come in the current chunk (InData() only).
  uint64_t DataLeft() const { return st_ == kData ? left_ : 0; }
  // `n` (<= DataLeft()) data bytes were taken without Decode() (received in place).
  void TookData(uint64_t n);

  // Decodes in[0, n): chunk data is copied to out (at most cap bytes; out may
  // be null to discard it). Stops at the end of the body, at malformed framing
  // (Failed()), or when out is full in the middle of data. Returns the input
  // bytes consumed; *out_n gets the data bytes written.
  size_t Decode(const uint8_t* in, size_t n, uint8_t* out, size_t cap, size_t* out_n);

 private:
  enum State : uint8_t {
    kSizeStart, kSize, kSizeWs, kExt, kSizeLf, kData, kDataCr, kDataLf,
    kTrailerStart, kTrailer, kTrailerLf, kFinalLf, kDone, kFailed,
  };
  void Step(uint8_t c);
  void Fail(const char* why);
  State st_ = kSizeStart;
  uint64_t left_ = 0;  // chunk size being parsed, then its data bytes still to come
  uint32_t line_ = 0;  // bytes of the current chunk-size line
  uint32_t trailer_ = 0;  // bytes of the trailer section so far
  const char* error_ = nullptr;
};

// Registers chunkedDecode on `exports`.
void ChunkedInit(Napi::Env env, Napi::Object exports);

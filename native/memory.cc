// alignOffset(typedArray, alignment) -> bytes to skip from the view's start
// so that its data address is a multiple of `alignment` (a power of two).
// O_DIRECT writes need 4 KiB-aligned memory, and JS cannot see addresses:
// the ingest over-allocates its slots and starts them at this offset.
#include "memory.h"

#include <cstdint>

namespace {

Napi::Value AlignOffset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "alignOffset(typedArray, alignment)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t align = info[1].As<Napi::Number>().Int64Value();
  if (align <= 0 || (align & (align - 1)) != 0 || align > (1 << 20)) {
    Napi::RangeError::New(env, "alignOffset: alignment must be a power of two up to 1 MiB")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // napi_get_typedarray_info also works for views of a SharedArrayBuffer.
  napi_typedarray_type type;
  size_t length = 0, byte_offset = 0;
  void* data = nullptr;
  napi_value ab;
  if (napi_get_typedarray_info(env, info[0], &type, &length, &data, &ab, &byte_offset) != napi_ok ||
      data == nullptr) {
    Napi::TypeError::New(env, "alignOffset: buffer has no memory").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uintptr_t addr = reinterpret_cast<uintptr_t>(data);
  uintptr_t mask = static_cast<uintptr_t>(align) - 1;
  return Napi::Number::New(env, static_cast<double>((align - (addr & mask)) & mask));
}

}  // namespace

void MemoryInit(Napi::Env env, Napi::Object exports) {
  exports.Set("alignOffset", Napi::Function::New(env, AlignOffset, "alignOffset"));
}

// Memory helpers for buffers handed to the kernel.
#pragma once
#include <napi.h>

// Registers alignOffset on `exports`.
void MemoryInit(Napi::Env env, Napi::Object exports);

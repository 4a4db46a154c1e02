// Zero-copy HTTP body sender: sendfile(2) driven by a libuv poll handle on a
// dup'd socket fd (no threadpool thread per transfer).
#pragma once
#include <napi.h>

// Registers sendfileStart / sendfileAbort / sendfileActive on `exports`.
void SendfileInit(Napi::Env env, Napi::Object exports);

// Image bytes between a TCP socket and the kernel without Node's streams:
// sendfile(2) from a file out to a client (downloads) and recv(2) from a
// client into a caller's buffer (uploads). Both are driven by a libuv poll
// handle on a dup'd socket fd: no threadpool thread per transfer.
#pragma once
#include <napi.h>

// Registers sendfileStart / sendfileAbort / sendfileActive / recvStart on
// `exports`.
void SocketIoInit(Napi::Env env, Napi::Object exports);

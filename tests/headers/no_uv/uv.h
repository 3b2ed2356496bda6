// A stand-in for libuv's header, first on the include path of the
// public-header check: a public header that includes <uv.h> fails here.
#error "a public lib9p header includes <uv.h>; forward-declare uv_loop_t instead"

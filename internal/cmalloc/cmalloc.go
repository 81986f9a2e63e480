// Package cmalloc tunes the C heap that OpenCV, FFmpeg and ONNX Runtime
// allocate from. Linking it (the inference package does) caps glibc's malloc
// arenas at two when the executable loads, unless the operator set
// MALLOC_ARENA_MAX or GLIBC_TUNABLES; Trim hands freed pages back to the
// kernel.
//
// glibc gives every thread that meets contention an arena of its own, up to
// eight per core, and memory freed into an arena stays resident in it. With
// the decode, inference and runtime threads of a camera pipeline, the
// default kept about 5 MB more resident than two arenas and a trim do.
package cmalloc

/// \file loadgen/export.h
/// \brief Symbol visibility for the loadgen library (shared builds hide everything else).
#ifndef LOADGEN_EXPORT_H_
#define LOADGEN_EXPORT_H_

#if defined(LOADGEN_STATIC_DEFINE)
#define LOADGEN_EXPORT
#elif defined(_WIN32)
#ifdef LOADGEN_BUILDING
#define LOADGEN_EXPORT __declspec(dllexport)
#else
#define LOADGEN_EXPORT __declspec(dllimport)
#endif
#else
#define LOADGEN_EXPORT __attribute__((visibility("default")))
#endif

#endif  // LOADGEN_EXPORT_H_

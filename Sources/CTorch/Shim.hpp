// Internal helpers shared by the shim's translation units: handle wrapping, the live-handle
// count, and the exception barrier. Not part of the C ABI.
#pragma once

#if !__has_include(<ATen/ATen.h>)
#error "libtorch headers not found: run 'make setup' (scripts/setup-libtorch.sh) first"
#endif

#include <ATen/ATen.h>

#include <atomic>
#include <cstring>
#include <string>

#include "CTorch.h"

struct ct_tensor_opaque {
  at::Tensor tensor;
};

struct ct_generator_opaque {
  at::Generator generator;
};

namespace ctorch {

extern std::atomic<int64_t> live_tensors;
void set_error(const char *message);

inline ct_tensor wrap(at::Tensor t) {
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return new ct_tensor_opaque{std::move(t)};
}

inline const at::Tensor &T(ct_tensor t) { return t->tensor; }

inline at::Scalar scalar(ct_scalar s) {
  switch (s.kind) {
  case 1:
    return at::Scalar(static_cast<int64_t>(s.i));
  case 2:
    return at::Scalar(s.i != 0);
  default:
    return at::Scalar(s.f);
  }
}

inline at::IntArrayRef dims(const int64_t *p, int32_t n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

inline at::TensorOptions options(int32_t dtype, int32_t dev_type, int32_t dev_index) {
  return at::TensorOptions()
      .dtype(static_cast<at::ScalarType>(dtype))
      .device(at::Device(static_cast<c10::DeviceType>(dev_type), static_cast<c10::DeviceIndex>(dev_index)));
}

inline std::optional<at::Generator> generator(ct_generator g) {
  if (g == nullptr) return std::nullopt;
  return g->generator;
}

inline void record(const std::exception &e) {
  if (auto *c10e = dynamic_cast<const c10::Error *>(&e)) {
    set_error(c10e->what_without_backtrace());
  } else {
    set_error(e.what());
  }
}

} // namespace ctorch

// The exception barrier: every entry point runs its body inside one of these.
#define CT_TENSOR(expr)                                                                                               \
  try {                                                                                                               \
    return ::ctorch::wrap(expr);                                                                                      \
  } catch (const std::exception &e) {                                                                                 \
    ::ctorch::record(e);                                                                                              \
    return nullptr;                                                                                                   \
  } catch (...) {                                                                                                     \
    ::ctorch::set_error("unknown C++ exception");                                                                     \
    return nullptr;                                                                                                   \
  }

#define CT_STATUS(body)                                                                                               \
  try {                                                                                                               \
    body;                                                                                                             \
    return true;                                                                                                      \
  } catch (const std::exception &e) {                                                                                 \
    ::ctorch::record(e);                                                                                              \
    return false;                                                                                                     \
  } catch (...) {                                                                                                     \
    ::ctorch::set_error("unknown C++ exception");                                                                     \
    return false;                                                                                                     \
  }

#define CT_PAIR(expr, first, second)                                                                                  \
  try {                                                                                                               \
    auto result = expr;                                                                                               \
    *(first) = ::ctorch::wrap(std::get<0>(result));                                                                   \
    *(second) = ::ctorch::wrap(std::get<1>(result));                                                                  \
    return true;                                                                                                      \
  } catch (const std::exception &e) {                                                                                 \
    ::ctorch::record(e);                                                                                              \
    return false;                                                                                                     \
  } catch (...) {                                                                                                     \
    ::ctorch::set_error("unknown C++ exception");                                                                     \
    return false;                                                                                                     \
  }

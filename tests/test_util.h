#pragma once
/// @file test_util.h
/// @brief Helpers shared by the tests: random float64 inputs and gradient checks that
/// report the worst element when they fail.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

namespace zoo::test {

/// The whole content of the file at `path` (empty if it cannot be read).
inline std::string read_file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// A float64 tensor of standard normal values that requires grad (seeded, so a failing
/// test fails the same way every time).
inline Tensor randn64(const Shape& shape, std::uint64_t seed = 7) {
  Generator gen(seed);
  return randn(shape, kFloat64, gen).requires_grad_();
}

/// Uniform on [lo, hi), float64, requires grad: for functions defined on a range (log, sqrt).
inline Tensor uniform64(const Shape& shape, double lo, double hi, std::uint64_t seed = 7) {
  Generator gen(seed);
  return (rand(shape, kFloat64, gen) * (hi - lo) + lo).detach().requires_grad_();
}

/// REQUIREs that `f`'s backward matches finite differences on `inputs`.
inline void check_gradients(const TensorFunction& f, const std::vector<Tensor>& inputs,
                            GradcheckOptions options = {}) {
  const GradcheckResult r = gradcheck(f, inputs, options);
  INFO(r.message);
  REQUIRE(r.ok);
}

/// REQUIREs that second derivatives (backward of backward) match finite differences.
inline void check_second_gradients(const TensorFunction& f, const std::vector<Tensor>& inputs,
                                   GradcheckOptions options = {}) {
  const GradcheckResult r = gradgradcheck(f, inputs, options);
  INFO(r.message);
  REQUIRE(r.ok);
}

/// REQUIREs that a and b have the same shape and close values (float64 tolerances).
inline void require_close(const Tensor& a, const Tensor& b, double rtol = 1e-6,
                          double atol = 1e-9) {
  INFO("got      " << to_string(a.detach()));
  INFO("expected " << to_string(b.detach()));
  REQUIRE(a.shape() == b.shape());
  REQUIRE(allclose(a, b, rtol, atol));
}

}  // namespace zoo::test

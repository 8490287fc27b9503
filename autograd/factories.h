#pragma once
/// @file factories.h
/// @brief Making tensors: constants, ranges, identity, random draws, and from C++ values.

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "autograd/generator.h"
#include "autograd/tensor.h"

namespace zoo {

/// A tensor of zeros.
Tensor zeros(const Shape& shape, DType dtype = kFloat32);
/// A tensor of ones.
Tensor ones(const Shape& shape, DType dtype = kFloat32);
/// A tensor with every element equal to `value`.
Tensor full(const Shape& shape, double value, DType dtype = kFloat32);
/// Zeros with the shape and dtype of `t`.
Tensor zeros_like(const Tensor& t);
/// Ones with the shape and dtype of `t`.
Tensor ones_like(const Tensor& t);
/// `value` everywhere, with the shape and dtype of `t`.
Tensor full_like(const Tensor& t, double value);
/// Uninitialised, with the shape and dtype of `t`.
Tensor empty_like(const Tensor& t);
/// A 0-dim tensor holding `value`.
Tensor scalar_tensor(double value, DType dtype = kFloat32);

/// start, start+step, ... up to but excluding end (int64 by default, as in PyTorch).
Tensor arange(double start, double end, double step = 1, DType dtype = kInt64);
/// 0, 1, ..., end-1.
Tensor arange(std::int64_t end, DType dtype = kInt64);
/// `steps` evenly spaced values from start to end, both included.
Tensor linspace(double start, double end, std::int64_t steps, DType dtype = kFloat32);
/// The n×m identity matrix (m = n by default).
Tensor eye(std::int64_t n, std::int64_t m = -1, DType dtype = kFloat32);

/// Uniform on [0, 1).
Tensor rand(const Shape& shape, DType dtype = kFloat32, Generator& gen = default_generator());
/// Standard normal.
Tensor randn(const Shape& shape, DType dtype = kFloat32, Generator& gen = default_generator());
/// Integers uniform on [low, high).
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, DType dtype = kInt64,
               Generator& gen = default_generator());
/// A random permutation of 0..n-1 (Fisher–Yates).
Tensor randperm(std::int64_t n, Generator& gen = default_generator());

/// A tensor holding a copy of `values` with the given shape (1-D by default; `{}` for
/// a 0-dim scalar).
template <class T>
Tensor from_vector(const std::vector<T>& values, Shape shape = {-1});
/// 1-D literal: `tensor({1.0, 2.0, 3.0})`.
Tensor tensor(std::initializer_list<double> values, DType dtype = kFloat32);
/// 2-D literal: `tensor({{1, 2}, {3, 4}})`; rows must have equal lengths. (A single
/// column, `{{1}, {2}}`, is ambiguous with the 1-D form: write `tensor({1, 2}).reshape({2, 1})`.)
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, DType dtype = kFloat32);

}  // namespace zoo

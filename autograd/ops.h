#pragma once
/// @file ops.h
/// @brief Everything in zoo::autograd in one include: Tensor, factories, ops, engine.

#include "autograd/checkpoint.h"
#include "autograd/engine.h"
#include "autograd/node.h"
#include "autograd/error.h"
#include "autograd/factories.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/index.h"
#include "autograd/ops/join.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/lstm.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/pool.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/rope.h"
#include "autograd/ops/softmax.h"
#include "autograd/parallel.h"
#include "autograd/tensor.h"

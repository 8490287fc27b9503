#pragma once
/// @file layers.h
/// @brief Everything of zoo's module system in one include: `Module`, the containers,
/// every layer, `init` and `functional`.
///
/// Lesson: @ref tutorial_05_modules.

#include "nn/containers.h"
#include "nn/functional.h"
#include "nn/init.h"
#include "nn/layers/activation.h"
#include "nn/layers/conv.h"
#include "nn/layers/dropout.h"
#include "nn/layers/embedding.h"
#include "nn/layers/flatten.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/layers/pool.h"
#include "nn/layers/rnn.h"
#include "nn/module.h"
#include "nn/repr.h"

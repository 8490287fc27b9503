#pragma once
/// @file optim.h
/// @brief Everything in zoo::optim in one include: the optimizers (SGD, Adam, AdamW,
/// Muon), gradient clipping, the learning-rate schedules and the moving average of the
/// weights. Like `torch.optim`.
///
/// Lesson: @ref tutorial_06_optimizers.

#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/ema.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/muon.h"
#include "nn/optim/optimizer.h"
#include "nn/optim/sgd.h"

#pragma once
/// @file gnuplot_script.h
/// @brief A chart as a gnuplot script: the data inline, then the commands that draw it.
///
/// zoo does not draw pictures itself; gnuplot (Debian's `gnuplot-nox`) does, from a
/// script zoo writes next to the image (`curves.svg` and `curves.svg.gp`). The script
/// holds its data in `$name << EOD` blocks, so it is complete by itself: open it, change
/// a colour, a range or a label, and run `gnuplot curves.svg.gp` in its folder again.
///
/// ```text
/// # runs/moe: valid_loss by step
/// $moe_valid_loss << EOD
/// 100 6.0276744911174231
/// 200 5.3459128205757831
/// EOD
/// set terminal svg size 800,450 dynamic font 'sans,12' background '#ffffff' noenhanced
/// set output 'curves.svg'
/// ...
/// plot $moe_valid_loss using 1:2 with linespoints lc rgb '#0072b2' dt 1 ... title 'moe'
/// ```
///
/// Colours tell the runs apart (the Okabe–Ito colours, which stay distinct for readers
/// with colour-blindness); dashes tell the splits apart: `train_` dashed, `valid_` and
/// split-less metrics solid, `test_` dotted.

#include <string>

#include "models/plot/chart.h"

namespace zoo::models::plot {

/// gnuplot's `set terminal` line for an image named `out`: `pngcairo` for `.png`, `svg`
/// for `.svg` (any other ending is a `zoo::Error`), `panels` panels high.
std::string terminal_for(const std::string& out, std::size_t panels);

/// The whole script that draws `chart` into `out` (its `set output` names the file
/// without its folder: gnuplot runs in the image's folder). `made_with`, if not empty,
/// is written in a comment: the command that made the script.
std::string gnuplot_script(const Chart& chart, const std::string& out, const std::string& made_with = "");

}  // namespace zoo::models::plot

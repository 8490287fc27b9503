# samplers.svg.gp: drawn by `zoo plot` from the runs' metrics.jsonl. The data are in the blocks
# below, one per run and metric; change anything and redraw, in this folder, with
#   gnuplot samplers.svg.gp
# Made with: zoo plot /tmp/zoo-14/14.2-samplers/Euler /tmp/zoo-14/14.2-samplers/Heun --x steps --metric max_error --title 'Section 14.2: error of the ODE samplers against the exact map' --xlabel 'steps n' --ylabel 'largest |x − (m + s z)|' --log-x --log-y --out tutorials/14_rectified_flow/samplers.svg

# Euler: max_error by steps
$Euler_max_error << EOD
1 0.6386469865325617
2 0.5158302583532228
4 0.3325322054171665
8 0.1795624835901463
16 0.0945815640756015
32 0.048872208734366096
64 0.02488262306381217
EOD

# Heun: max_error by steps
$Heun_max_error << EOD
1 0.9579704797988426
2 0.2860212650484219
4 0.0627877956140871
8 0.02030405360992521
16 0.006444873173130805
32 0.0017799484491220485
64 0.000465826281024706
EOD

set terminal svg size 800,450 dynamic font 'sans,12' background '#ffffff' noenhanced
set output 'samplers.svg'
set grid
set key below width 2
set xlabel 'steps n'
set logscale x
set logscale y

set title 'Section 14.2: error of the ODE samplers against the exact map'
set ylabel 'largest |x − (m + s z)|'
plot $Euler_max_error using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb '#0072b2' dt 1 title 'Euler', \
     $Heun_max_error using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb '#d55e00' dt 1 title 'Heun'

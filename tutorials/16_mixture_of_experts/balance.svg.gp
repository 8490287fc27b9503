# balance.svg.gp: drawn by `zoo plot` from the runs' metrics.jsonl. The data are in the blocks
# below, one per run and metric; change anything and redraw, in this folder, with
#   gnuplot balance.svg.gp
# Made with: zoo plot runs/transformer runs/moe runs/moe-aux --metric max_violation --title 'MoE load balance: bias (moe) vs auxiliary loss (moe-aux)' --ylabel 'max violation (validation)' --log-y --out tutorials/16_mixture_of_experts/balance.svg

# moe: max_violation by step
$moe_max_violation << EOD
100 3.6423521850899743
200 3.2656383890317056
300 2.6510282776349614
400 1.2883461868037704
500 0.30077120822622105
600 0.2297557840616966
700 0.18391173950299922
800 0.1411739502999143
900 0.13935304198800336
1000 0.1675235646958011
EOD

# moe-aux: max_violation by step
$moe_aux_max_violation << EOD
100 0.8773564695801199
200 0.532133676092545
300 0.36257497857754917
400 0.2467866323907455
500 0.34361610968294776
600 0.2433590402742074
700 0.32433590402742074
800 0.32444301628106254
900 0.3033419023136248
1000 0.3158740359897172
EOD

set terminal svg size 800,450 dynamic font 'sans,12' background '#ffffff' noenhanced
set output 'balance.svg'
set grid
set key below width 2
set xlabel 'step'
set logscale y

set title 'MoE load balance: bias (moe) vs auxiliary loss (moe-aux)'
set ylabel 'max violation (validation)'
plot $moe_max_violation using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb '#d55e00' dt 1 title 'moe', \
     $moe_aux_max_violation using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb '#009e73' dt 1 title 'moe-aux'

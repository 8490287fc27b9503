# valid_loss.svg.gp: drawn by `zoo plot` from the runs' metrics.jsonl. The data are in the blocks
# below, one per run and metric; change anything and redraw, in this folder, with
#   gnuplot valid_loss.svg.gp
# Made with: zoo plot runs/transformer runs/moe runs/moe-aux --metric valid_loss --title 'Dense (transformer) vs MoE on Brown, same active size, same 4.1M tokens' --ylabel 'validation loss, nats per token' --x-range 200: --out tutorials/16_mixture_of_experts/valid_loss.svg

# transformer: valid_loss by step
$transformer_valid_loss << EOD
100 6.0231048613403635
200 5.355684908006369
300 5.0459592323989675
400 4.881564054513651
500 4.750999823327542
600 4.6684650578045295
700 4.590858724245988
800 4.536864518506362
900 4.50467835845555
1000 4.486936858503248
EOD

# moe: valid_loss by step
$moe_valid_loss << EOD
100 6.027674491117423
200 5.345912820575783
300 5.028121041148364
400 4.86991671976516
500 4.727239613667859
600 4.642102003710435
700 4.555898391802084
800 4.506578386596052
900 4.47164166310759
1000 4.450946646055403
EOD

# moe-aux: valid_loss by step
$moe_aux_valid_loss << EOD
100 6.0504120579109095
200 5.34786905421083
300 5.030155574141554
400 4.865883658048733
500 4.720594293354103
600 4.628395487532824
700 4.546734616198699
800 4.494160684031509
900 4.459450699676278
1000 4.438732529667165
EOD

set terminal svg size 800,450 dynamic font 'sans,12' background '#ffffff' noenhanced
set output 'valid_loss.svg'
set grid
set key below width 2
set xlabel 'step'
set xrange [200:*]

set title 'Dense (transformer) vs MoE on Brown, same active size, same 4.1M tokens'
set ylabel 'validation loss, nats per token'
plot $transformer_valid_loss using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb '#0072b2' dt 1 title 'transformer', \
     $moe_valid_loss using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb '#d55e00' dt 1 title 'moe', \
     $moe_aux_valid_loss using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb '#009e73' dt 1 title 'moe-aux'

"""The words of the cost page's figures, in both languages: the curves of each plot (key in the
benchmark results, label, colour, line style), the captions and axis labels, and the labels of the
multi-head cases. Drawn by `qkvdocs.figures.cost`."""

from __future__ import annotations

# the curves of the time and memory plots: key in the results, label, colour, line style
CURVES = {
    "en": [
        ("numpy_naive", "NumPy, naive", "C0", "-"),
        ("numpy_tiled", "NumPy, tiled", "C0", "--"),
        ("numpy_tiled_causal", "NumPy, tiled, causal", "C0", ":"),
        ("torch_naive", "PyTorch, naive", "C1", "-"),
        ("torch_tiled", "PyTorch, tiled", "C1", "--"),
        ("f_sdpa", "F.scaled_dot_product_attention", "C2", "-"),
    ],
    "zh": [
        ("numpy_naive", "NumPy，朴素", "C0", "-"),
        ("numpy_tiled", "NumPy，分块", "C0", "--"),
        ("numpy_tiled_causal", "NumPy，分块，因果", "C0", ":"),
        ("torch_naive", "PyTorch，朴素", "C1", "-"),
        ("torch_tiled", "PyTorch，分块", "C1", "--"),
        ("f_sdpa", "F.scaled_dot_product_attention", "C2", "-"),
    ],
}
# the curves of the forward-and-backward plots
BACKWARD_CURVES = {
    "en": [
        ("torch_naive_fwd_bwd", "PyTorch, autograd through the naive formula", "C1", "-"),
        ("torch_tiled_fwd_bwd", "PyTorch, tiled backward", "C1", "--"),
        ("numpy_tiled_backward", "NumPy, tiled backward", "C0", "--"),
        ("f_sdpa_fwd_bwd", "F.scaled_dot_product_attention", "C2", "-"),
    ],
    "zh": [
        ("torch_naive_fwd_bwd", "PyTorch，对朴素公式自动求导", "C1", "-"),
        ("torch_tiled_fwd_bwd", "PyTorch，分块反向传播", "C1", "--"),
        ("numpy_tiled_backward", "NumPy，分块反向传播", "C0", "--"),
        ("f_sdpa_fwd_bwd", "F.scaled_dot_product_attention", "C2", "-"),
    ],
}

TEXT = {
    "en": {
        "seq": "sequence length n (one head, d = 64)",
        "time": "forward time (ms)",
        "memory": "peak extra memory (MiB)",
        "scores": "float32 scores alone, 4n² bytes",
        "extrapolated": "naive, not run (n² from the largest run)",
        "machine": "Measured on {cpu}, {cores} cores, PyTorch {torch}, NumPy {numpy}, {date}; "
        "load average at start {load}.",
        "time_caption": "Forward time of one attention head against the sequence length, median of "
        "the saved benchmark run (log-log axes). Naive and tiled attention both do O(n²·d) "
        "work, so their curves rise with slope 2; causal tiling skips the tiles above the "
        "diagonal and does about half of it. Time of PyTorch's tiled version divided by that of "
        "F.scaled_dot_product_attention, median of three calls of each made back to back: "
        "{ratios}. {machine}",
        "ratio_at": "{ratio:.2f} at n = {seq}",
        "time_alt": "Log-log plot of time in milliseconds against sequence length from {lo} to "
        "{hi}; every curve rises roughly fourfold per doubling of n.",
        "memory_caption": "Peak extra memory of the same calls. The naive version holds the "
        "n × n score matrix (and its softmax), so its memory grows as n²; tiled attention holds "
        "one tile and the output, so it grows as n. NumPy is measured with tracemalloc, PyTorch "
        "on the CPU as the growth of a fresh process's peak resident set (values under 1 MiB "
        "are drawn at 1 MiB, the resolution of that method). {machine}",
        "memory_alt": "Log-log plot of peak memory in MiB against sequence length: the naive "
        "curves and the score-matrix line rise with slope 2, the tiled curves stay low and "
        "rise with slope 1.",
        "mha_caption": "Multi-head attention forward (batch {batch}, d_model {d_model}, {heads} "
        "heads, self-attention, inference mode): median milliseconds, then the ratios of the "
        "medians measured in the same run (below 1: the first is faster). {machine}",
        "mha_alt": "Table of timings per implementation and sequence length, and of ratios.",
        "implementation": "implementation",
        "ratio": "ratio",
        "seq_col": "seq {seq}",
        "backward_time": "forward + backward time (ms)",
        "backward_time_caption": "Time of one forward and backward pass (the output and the "
        "gradients with respect to Q, K and V) against the sequence length, median of the "
        "saved run (log-log axes). The backward pass does about twice the work of the forward "
        "pass; the tiled one recomputes the scores as well. Time of PyTorch's tiled version "
        "divided by that of F.scaled_dot_product_attention's forward and backward pass, median "
        "of three pairs of calls made back to back: {ratios}. {machine}",
        "backward_time_alt": "Log-log plot of forward-and-backward time in milliseconds against "
        "sequence length from {lo} to {hi}; every curve rises roughly fourfold per doubling.",
        "backward_memory_caption": "Peak extra memory of the same forward and backward passes. "
        "Autograd through the naive formula keeps the n × n weights for the backward pass "
        "(at n = {seq}: {naive:.0f} MiB); the tiled backward pass keeps the output and one "
        "log-sum-exp per row and recomputes the tiles ({tiled:.1f} MiB); "
        "F.scaled_dot_product_attention does the same inside its fused kernel ({sdpa:.1f} MiB). "
        "PyTorch measured as the growth of a fresh process's peak resident set, NumPy with "
        "tracemalloc; values under 1 MiB are drawn at 1 MiB. {machine}",
        "backward_memory_alt": "Log-log plot of peak memory in MiB against sequence length: the "
        "naive autograd curve and the score-matrix line rise with slope 2, the tiled and SDPA "
        "curves stay low.",
        "gpu_time": "time (ms)",
        "gpu_seq": "sequence length n (one head, d = 64)",
        "gpu_forward": "{dtype}, forward",
        "gpu_both": "{dtype}, forward + backward",
        "gpu_caption": "On the GPU {gpu}: time of PyTorch's tiled attention divided by that of "
        "F.scaled_dot_product_attention, measured in the same run, forward alone and forward "
        "with backward (log scale; 1 means as fast). CUDA {cuda}, PyTorch {torch}, {date}.",
        "gpu_alt": "Plot of time ratios against sequence length for float16 and bfloat16.",
        "gpu_ratio": "tiled / F.scaled_dot_product_attention",
    },
    "zh": {
        "seq": "序列长度 n（单头，d = 64）",
        "time": "前向时间（毫秒）",
        "memory": "峰值额外内存（MiB）",
        "scores": "仅 float32 分数矩阵，4n² 字节",
        "extrapolated": "朴素，未运行（按 n² 从最大一次外推）",
        "machine": "测量环境：{cpu}，{cores} 核，PyTorch {torch}，NumPy {numpy}，{date}；"
        "开始时负载均值 {load}。",
        "time_caption": "单个注意力头的前向时间随序列长度的变化，取保存的基准测试运行的中位数"
        "（双对数坐标）。朴素实现和分块实现的计算量都是 O(n²·d)，所以曲线斜率都约为 2；"
        "因果分块跳过对角线上方的块，只做约一半的工作。PyTorch 分块版本与 "
        "F.scaled_dot_product_attention 的时间之比，取三对紧挨着运行的调用的中位数：{ratios}。"
        "{machine}",
        "ratio_at": "{ratio:.2f}（n = {seq}）",
        "time_alt": "双对数图：纵轴为毫秒，横轴为序列长度，从 {lo} 到 {hi}；n 每翻一倍，"
        "每条曲线约升高四倍。",
        "memory_caption": "同样这些调用的峰值额外内存。朴素实现要保存 n × n 的分数矩阵"
        "（以及它的 softmax），内存按 n² 增长；分块注意力只保存一个块和输出，内存按 n 增长。"
        "NumPy 用 tracemalloc 测量；PyTorch（CPU）用一个新进程峰值常驻内存的增量测量"
        "（小于 1 MiB 的值画在 1 MiB，这是该方法的分辨率）。{machine}",
        "memory_alt": "双对数图：纵轴为峰值内存（MiB），横轴为序列长度；朴素实现的曲线和分数"
        "矩阵的参考线斜率为 2，分块实现的曲线位置很低、斜率为 1。",
        "mha_caption": "多头注意力前向（批次大小 {batch}，d_model {d_model}，{heads} 个头，"
        "自注意力，推理模式）：中位数毫秒，以及同一次运行中测得的中位数之比"
        "（小于 1 表示前者更快）。{machine}",
        "mha_alt": "表格：各实现在各序列长度下的耗时，以及比值。",
        "implementation": "实现",
        "ratio": "比值",
        "seq_col": "seq {seq}",
        "backward_time": "前向 + 反向时间（毫秒）",
        "backward_time_caption": "一次前向加反向传播（输出以及对 Q、K、V 的梯度）的时间随序列长度的"
        "变化，取保存的运行的中位数（双对数坐标）。反向传播的计算量约为前向的两倍，分块版本还要重算"
        "分数。PyTorch 分块版本与 F.scaled_dot_product_attention 前向加反向的时间之比，"
        "取三对紧挨着运行的调用的中位数：{ratios}。{machine}",
        "backward_time_alt": "双对数图：纵轴为前向加反向的毫秒数，横轴为序列长度，从 {lo} 到 {hi}；"
        "n 每翻一倍，每条曲线约升高四倍。",
        "backward_memory_caption": "同样这些前向加反向传播的峰值额外内存。"
        "对朴素公式自动求导要为反向传播保存 n × n 的权重（n = {seq} 时为 {naive:.0f} MiB）；"
        "分块反向传播只保存输出和每行一个"
        " log-sum-exp，再逐块重算（{tiled:.1f} MiB）；F.scaled_dot_product_attention 在它的融合内核"
        "里做同样的事（{sdpa:.1f} MiB）。PyTorch 用一个新进程峰值常驻内存的增量测量，NumPy 用 "
        "tracemalloc；小于 1 MiB 的值画在 1 MiB。{machine}",
        "backward_memory_alt": "双对数图：纵轴为峰值内存（MiB），横轴为序列长度；朴素自动求导的曲线"
        "和分数矩阵的参考线斜率为 2，分块和 SDPA 的曲线位置很低。",
        "gpu_time": "时间（毫秒）",
        "gpu_seq": "序列长度 n（单头，d = 64）",
        "gpu_forward": "{dtype}，前向",
        "gpu_both": "{dtype}，前向 + 反向",
        "gpu_caption": "在 GPU {gpu} 上：PyTorch 分块注意力的时间除以 "
        "F.scaled_dot_product_attention 的时间，在同一次运行中测得，分别为只做前向和前向加反向"
        "（对数坐标；1 表示一样快）。"
        "CUDA {cuda}，PyTorch {torch}，{date}。",
        "gpu_alt": "图：float16 和 bfloat16 下时间比值随序列长度的变化。",
        "gpu_ratio": "分块 / F.scaled_dot_product_attention",
    },
}

# the legend of the multi-head plot: the names of benchmarks/mha.py's MHA_LABELS (the build does
# not import the benchmarks), without the table's note on F.scaled_dot_product_attention
MHA_LABELS = {
    "numpy_weights": "qkv.numpy, need_weights=True",
    "numpy_no_weights": "qkv.numpy, need_weights=False",
    "qkv_torch_weights": "qkv.torch, need_weights=True",
    "qkv_torch_no_weights": "qkv.torch, need_weights=False",
    "nn_mha_weights": "nn.MultiheadAttention, need_weights=True, average_attn_weights=False",
    "nn_mha_no_weights": "nn.MultiheadAttention, need_weights=False",
    "f_sdpa": "F.scaled_dot_product_attention",
}

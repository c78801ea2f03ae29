#!/usr/bin/python3
"""Reference values for test/nn/test_layers_ext.cpp, computed by PyTorch (Debian's
python3-torch) from the same inputs and weights: every tensor is det(shape, seed, scale), the
values scale * sin(0.37 * i + seed) over the flat index i, rounded to float32, exactly as the
test's det() builds them. Prints C++ initialiser lists to paste into the test.

    /usr/bin/python3 test/nn/reference/layers_ext_reference.py
"""
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def det(shape, seed, scale=1.0):
    n = int(np.prod(shape))
    v = (scale * np.sin(0.37 * np.arange(n) + seed)).astype(np.float32)
    return torch.tensor(v.astype(np.float64)).reshape(shape)


def show(name, t):
    vals = ", ".join(f"{x:.7g}" for x in t.detach().reshape(-1).tolist())
    print(f"// {name}: shape {tuple(t.shape)}\nconst Vec {name} = {{{vals}}};")


# LayerNormalization over the last axis, epsilon 1e-3, gamma/beta given.
x = det((2, 3, 4), 1.0)
gamma, beta = det((4,), 2.0, 0.5), det((4,), 3.0, 0.5)
show("kLayerNorm", F.layer_norm(x, (4,), gamma, beta, eps=1e-3))

# MultiHeadAttention: query [2,3,4], value [2,5,6], key [2,5,5]; 2 heads, key_dim 3,
# value_dim 2, output 4 (the query's width). Keras' einsum forms, written independently.
q, v, k = det((2, 3, 4), 4.0), det((2, 5, 6), 5.0), det((2, 5, 5), 6.0)
wq, bq = det((4, 2, 3), 7.0, 0.5), det((2, 3), 8.0, 0.1)
wk, bk = det((5, 2, 3), 9.0, 0.5), det((2, 3), 10.0, 0.1)
wv, bv = det((6, 2, 2), 11.0, 0.5), det((2, 2), 12.0, 0.1)
wo, bo = det((2, 2, 4), 13.0, 0.5), det((4,), 14.0, 0.1)


def mha(mask=None):
    Q = torch.einsum("abc,cde->abde", q, wq) + bq
    K = torch.einsum("abc,cde->abde", k, wk) + bk
    V = torch.einsum("abc,cde->abde", v, wv) + bv
    Q = Q / np.sqrt(3.0)
    s = torch.einsum("aecd,abcd->acbe", K, Q)  # [batch, heads, t, s]
    if mask is not None:
        s = s.masked_fill(~mask[:, None], float("-inf"))
    p = torch.softmax(s, -1)
    ctx = torch.einsum("acbe,aecd->abcd", p, V)
    return torch.einsum("abcd,cde->abe", ctx, wo) + bo, p


out, p = mha()
show("kMha", out)
show("kMhaScores", p)
causal = torch.ones(3, 5, dtype=torch.bool).tril()
pad = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]], dtype=torch.bool)[:, None, :].expand(2, 3, 5)
out_m, _ = mha(causal[None] & pad)
show("kMhaMasked", out_m)

# Recurrent layers on x [2, 3, 4] with 3 units; Keras' kernel [4, g*3], recurrent [3, g*3].
x = det((2, 3, 4), 15.0)


def keras_to_torch_rnn(mod, kernel, rec, b_ih, b_hh):
    with torch.no_grad():
        mod.weight_ih_l0.copy_(kernel.T)
        mod.weight_hh_l0.copy_(rec.T)
        mod.bias_ih_l0.copy_(b_ih)
        mod.bias_hh_l0.copy_(b_hh)
    return mod


k1, r1, b1 = det((4, 3), 16.0, 0.5), det((3, 3), 17.0, 0.5), det((3,), 18.0, 0.1)
rnn = keras_to_torch_rnn(torch.nn.RNN(4, 3, batch_first=True), k1, r1, b1, torch.zeros(3))
seq, h = rnn(x)
show("kSimpleRnnSeq", seq)

k4, r4, b4 = det((4, 12), 19.0, 0.5), det((3, 12), 20.0, 0.5), det((12,), 21.0, 0.1)
lstm = keras_to_torch_rnn(torch.nn.LSTM(4, 3, batch_first=True), k4, r4, b4, torch.zeros(12))
seq, (h, c) = lstm(x)  # torch's gate order i, f, g, o is Keras' i, f, c, o
show("kLstmSeq", seq)
show("kLstmC", c[0])
seq_b, _ = lstm(torch.flip(x, [1]))
show("kLstmBackwardSeq", seq_b)


def zrh_to_rzn(w):  # Keras' GRU blocks z, r, h along the last axis -> torch's r, z, n
    z, r, hh = torch.split(w, 3, dim=-1)
    return torch.cat([r, z, hh], dim=-1)


k3, r3, b3 = det((4, 9), 22.0, 0.5), det((3, 9), 23.0, 0.5), det((2, 9), 24.0, 0.1)
gru = keras_to_torch_rnn(torch.nn.GRU(4, 3, batch_first=True), zrh_to_rzn(k3), zrh_to_rzn(r3),
                         zrh_to_rzn(b3[0]), zrh_to_rzn(b3[1]))
seq, h = gru(x)
show("kGruSeq", seq)

# Conv1D: x [2, 5, 3], kernel [3, 3, 2] (Keras [k, in, out]), bias [2]; valid and causal.
x = det((2, 5, 3), 25.0)
kc, bc = det((3, 3, 2), 26.0, 0.5), det((2,), 27.0, 0.1)
wt = kc.permute(2, 1, 0)  # torch [out, in, k]
show("kConv1dValid", F.conv1d(x.transpose(1, 2), wt, bc).transpose(1, 2))
show("kConv1dCausal", F.conv1d(F.pad(x.transpose(1, 2), (2, 0)), wt, bc).transpose(1, 2))
show("kConv1dSame2", F.conv1d(F.pad(x.transpose(1, 2), (1, 1)), wt, bc, stride=2).transpose(1, 2))

#!/usr/bin/python3
"""Regenerates tests/ref/torch_ref.h: reference values computed with PyTorch (Debian's
python3-torch) that tests/test_torch.c compares nn.h against.

Run:  /usr/bin/python3 tools/make_ref.py > tests/ref/torch_ref.h

Covers: three steps of SGD (momentum, Nesterov, weight decay), Adam (with and without L2),
AdamW, RMSprop (plain, momentum + weight decay); clip_grad_norm_; StepLR, CosineAnnealingLR
and LinearLR warm-up; the four losses with their gradients; the activations and their
derivatives; one forward/backward pass of a small MLP (nn.Linear weight layout)."""
import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)
out = []


def arr(name, t, ctype="float"):
    vals = t.detach().reshape(-1).tolist()
    if ctype == "float":
        body = ", ".join("%.9ef" % v for v in vals)
    else:
        body = ", ".join("%d" % v for v in vals)
    out.append("static const %s %s[%d] = {%s};" % (ctype, name, len(vals), body))


# --- optimizers: 7 parameters, three steps with different gradients ---
N = 7
p0 = torch.randn(N)
grads = [torch.randn(N) for _ in range(3)]
arr("ref_p0", p0)
for k, g in enumerate(grads):
    arr("ref_g%d" % (k + 1), g)

configs = [
    ("sgd_momentum", lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("sgd_nesterov", lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True)),
    ("adam", lambda p: torch.optim.Adam([p], lr=0.01)),
    ("adam_l2", lambda p: torch.optim.Adam([p], lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("adamw", lambda p: torch.optim.AdamW([p], lr=0.01, weight_decay=0.1)),
    ("rmsprop", lambda p: torch.optim.RMSprop([p], lr=0.01)),
    ("rmsprop_momentum", lambda p: torch.optim.RMSprop([p], lr=0.01, alpha=0.9, momentum=0.9, weight_decay=0.01)),
]
for name, make in configs:
    p = p0.clone().requires_grad_(True)
    opt = make(p)
    for k, g in enumerate(grads):
        opt.zero_grad()
        p.grad = g.clone()
        opt.step()
        arr("ref_%s_step%d" % (name, k + 1), p)

# --- gradient clipping by global norm ---
p = torch.zeros(N, requires_grad=True)
p.grad = grads[0].clone() * 3
arr("ref_clip_in", p.grad)
torch.nn.utils.clip_grad_norm_([p], max_norm=0.5)
arr("ref_clip_out", p.grad)

# --- learning-rate schedules, lr per epoch (or per step for the warm-up) ---
def lrs(make_sched, n):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    s = make_sched(opt)
    v = []
    for _ in range(n):
        v.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    return torch.tensor(v)

arr("ref_lr_step", lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5), 7))
arr("ref_lr_cosine", lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.001), 6))
W = 4
arr("ref_lr_warmup", lrs(lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=1.0 / W, end_factor=1.0,
                                                                    total_iters=W - 1), 6))

# --- losses: logits (3, 5) ---
B, C = 3, 5
logits = torch.randn(B, C) * 2
labels = torch.tensor([4, 0, 2])
probs = torch.softmax(torch.randn(B, C), dim=1)
bits = (torch.rand(B, C) > 0.5).float()
reg = torch.randn(B, C)
arr("ref_logits", logits)
arr("ref_labels", labels, "int32_t")
arr("ref_probs", probs)
arr("ref_bits", bits)
arr("ref_reg", reg)
for name, fn in [
    ("xent", lambda x: torch.nn.functional.cross_entropy(x, labels)),
    ("xent_probs", lambda x: torch.nn.functional.cross_entropy(x, probs)),
    ("bce", lambda x: torch.nn.functional.binary_cross_entropy_with_logits(x, bits)),
    ("mse", lambda x: torch.nn.functional.mse_loss(x, reg)),
    ("hinge", lambda x: torch.nn.functional.multi_margin_loss(x, labels)),
]:
    x = logits.clone().requires_grad_(True)
    loss = fn(x)
    loss.backward()
    arr("ref_loss_%s" % name, loss.reshape(1))
    arr("ref_dloss_%s" % name, x.grad)

# --- activations and their derivatives on 11 points ---
xs = torch.linspace(-4, 4, 11)
arr("ref_act_x", xs)
for name, fn in [
    ("relu", torch.relu),
    ("leaky", lambda x: torch.nn.functional.leaky_relu(x, 0.1)),
    ("sigmoid", torch.sigmoid),
    ("tanh", torch.tanh),
    ("gelu", torch.nn.functional.gelu),
]:
    x = xs.clone().requires_grad_(True)
    y = fn(x)
    y.sum().backward()
    arr("ref_act_%s" % name, y)
    arr("ref_dact_%s" % name, x.grad)

# --- a 5-4-3 MLP (Linear, Tanh, Linear), batch 2, cross-entropy: loss and all gradients ---
mlp = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
xb = torch.randn(2, 5)
yb = torch.tensor([2, 0])
loss = torch.nn.functional.cross_entropy(mlp(xb), yb)
loss.backward()
arr("ref_mlp_x", xb)
arr("ref_mlp_y", yb, "int32_t")
for k, idx in enumerate([0, 2]):
    arr("ref_mlp_w%d" % k, mlp[idx].weight)
    arr("ref_mlp_b%d" % k, mlp[idx].bias)
    arr("ref_mlp_dw%d" % k, mlp[idx].weight.grad)
    arr("ref_mlp_db%d" % k, mlp[idx].bias.grad)
arr("ref_mlp_out", mlp(xb))
arr("ref_mlp_loss", loss.reshape(1))

# --- a small CNN with every convolutional layer type: forward (training mode), loss, every
#     gradient, the BatchNorm running statistics, then an eval-mode forward ---
cnn = torch.nn.Sequential(
    torch.nn.Conv2d(3, 4, 3, padding=1),                                   # 0
    torch.nn.BatchNorm2d(4),                                               # 1
    torch.nn.ReLU(),                                                       # 2
    torch.nn.MaxPool2d(2),                                                 # 3: 9x9 -> 4x4
    torch.nn.Conv2d(4, 6, 3, stride=1, padding=2, dilation=2, groups=2),   # 4
    torch.nn.Tanh(),                                                       # 5
    torch.nn.AvgPool2d(3, stride=1, padding=1),                            # 6
    torch.nn.Conv2d(6, 6, 3, padding=1, groups=6),                         # 7: depthwise
    torch.nn.Conv2d(6, 5, 1),                                              # 8: 1x1
    torch.nn.Conv2d(5, 5, 3, stride=2, padding=1, bias=False),             # 9: 4x4 -> 2x2
    torch.nn.AdaptiveAvgPool2d(1),                                         # 10
    torch.nn.Flatten(),                                                    # 11
    torch.nn.Linear(5, 3))                                                 # 12
xc = torch.randn(2, 3, 9, 9)
yc = torch.tensor([1, 2])
cnn.train()
cnn_out = cnn(xc)
loss = torch.nn.functional.cross_entropy(cnn_out, yc)
loss.backward()
arr("ref_cnn_x", xc)
arr("ref_cnn_y", yc, "int32_t")
arr("ref_cnn_out", cnn_out)
arr("ref_cnn_loss", loss.reshape(1))
for i in [0, 4, 7, 8, 9, 12]:
    arr("ref_cnn_w%d" % i, cnn[i].weight)
    arr("ref_cnn_dw%d" % i, cnn[i].weight.grad)
    if cnn[i].bias is not None:
        arr("ref_cnn_b%d" % i, cnn[i].bias)
        arr("ref_cnn_db%d" % i, cnn[i].bias.grad)
arr("ref_cnn_gamma", cnn[1].weight)
arr("ref_cnn_beta", cnn[1].bias)
arr("ref_cnn_dgamma", cnn[1].weight.grad)
arr("ref_cnn_dbeta", cnn[1].bias.grad)
arr("ref_cnn_rmean", cnn[1].running_mean)
arr("ref_cnn_rvar", cnn[1].running_var)
cnn.eval()
arr("ref_cnn_out_eval", cnn(xc))

print("/* Generated by tools/make_ref.py with PyTorch %s. Do not edit. */" % torch.__version__)
print("#include <stdint.h>")
print("\n".join(out))

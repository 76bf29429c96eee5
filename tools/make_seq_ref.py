#!/usr/bin/python3
"""Regenerates tests/ref/seq_ref.h: PyTorch reference values for nn.h's sequence layers, which
tests/test_seq.c compares against.

Run:  /usr/bin/python3 tools/make_seq_ref.py > tests/ref/seq_ref.h

Covers: nn.Embedding -> nn.LayerNorm -> nn.Linear on every step -> cross_entropy over every
step (logits (B, T, V), targets (B, T)); and T x 4 float steps -> Linear -> LayerNorm -> GELU ->
Linear with MSE per step; causal self-attention (nanoGPT's CausalSelfAttention) under a
Linear head with cross-entropy per step: outputs, losses and every parameter gradient; an
llm.c-style parity check of a small GPT (logits, loss, every gradient, 10 AdamW steps); a
two-layer nn.LSTM under a Linear head; an nn.GRU's last step under a Linear head."""
import torch
import torch.nn.functional as F

torch.manual_seed(1)
out = []


def arr(name, t, ctype="float"):
    vals = t.detach().reshape(-1).tolist()
    body = ", ".join(("%.9ef" % v) if ctype == "float" else ("%d" % v) for v in vals)
    out.append("static const %s %s[%d] = {%s};" % (ctype, name, len(vals), body))


# --- tokens: B=3 rows of T=5 ids below V=7, embedding dim 6, per-step logits over 7 classes ---
B, T, V, D, C = 3, 5, 7, 6, 7
ids = torch.randint(0, V, (B, T))
tgt = torch.randint(0, C, (B, T))
emb = torch.nn.Embedding(V, D)
ln = torch.nn.LayerNorm(D, eps=1e-5)
with torch.no_grad():
    ln.weight.copy_(1 + 0.3 * torch.randn(D))
    ln.bias.copy_(0.2 * torch.randn(D))
lin = torch.nn.Linear(D, C)
arr("tok_ids", ids.float())
arr("tok_tgt", tgt, "int32_t")
arr("tok_emb", emb.weight)
arr("tok_ln_w", ln.weight)
arr("tok_ln_b", ln.bias)
arr("tok_lin_w", lin.weight)
arr("tok_lin_b", lin.bias)
logits = lin(ln(emb(ids)))
loss = F.cross_entropy(logits.reshape(-1, C), tgt.reshape(-1))
loss.backward()
arr("tok_logits", logits)
arr("tok_loss", loss.reshape(1))
arr("tok_g_emb", emb.weight.grad)
arr("tok_g_ln_w", ln.weight.grad)
arr("tok_g_ln_b", ln.bias.grad)
arr("tok_g_lin_w", lin.weight.grad)
arr("tok_g_lin_b", lin.bias.grad)

# --- float steps: B=2 rows of T=3 steps of 4 features, MSE per step on 3 outputs ---
B, T, Fi, H, O = 2, 3, 4, 5, 3
x = torch.randn(B, T, Fi)
y = torch.randn(B, T, O)
l1 = torch.nn.Linear(Fi, H)
ln2 = torch.nn.LayerNorm(H, eps=1e-3)
with torch.no_grad():
    ln2.weight.copy_(1 + 0.3 * torch.randn(H))
    ln2.bias.copy_(0.2 * torch.randn(H))
l2 = torch.nn.Linear(H, O)
arr("flt_x", x)
arr("flt_y", y)
for n, t in (("l1_w", l1.weight), ("l1_b", l1.bias), ("ln_w", ln2.weight), ("ln_b", ln2.bias), ("l2_w", l2.weight),
             ("l2_b", l2.bias)):
    arr("flt_" + n, t)
o = l2(F.gelu(ln2(l1(x))))
loss = F.mse_loss(o, y)
loss.backward()
arr("flt_out", o)
arr("flt_loss", loss.reshape(1))
for n, t in (("l1_w", l1.weight), ("l1_b", l1.bias), ("ln_w", ln2.weight), ("ln_b", ln2.bias), ("l2_w", l2.weight),
             ("l2_b", l2.bias)):
    arr("flt_g_" + n, t.grad)

# --- causal self-attention (nanoGPT's CausalSelfAttention, bias=True): B=2, T=5, C=6, 2 heads,
#     then a Linear head to 4 classes per step, cross-entropy ---
B, T, C, H, K = 2, 5, 6, 2, 4
x = torch.randn(B, T, C)
tgt = torch.randint(0, K, (B, T))
c_attn = torch.nn.Linear(C, 3 * C)
c_proj = torch.nn.Linear(C, C)
head = torch.nn.Linear(C, K)
arr("att_x", x)
arr("att_tgt", tgt, "int32_t")
for n, t in (("ca_w", c_attn.weight), ("ca_b", c_attn.bias), ("cp_w", c_proj.weight), ("cp_b", c_proj.bias),
             ("hd_w", head.weight), ("hd_b", head.bias)):
    arr("att_" + n, t)
q, k, v = c_attn(x).split(C, dim=2)
q = q.view(B, T, H, C // H).transpose(1, 2)
k = k.view(B, T, H, C // H).transpose(1, 2)
v = v.view(B, T, H, C // H).transpose(1, 2)
att = (q @ k.transpose(-2, -1)) * (1.0 / (C // H) ** 0.5)
att = att.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C)
a_out = c_proj(y)
logits = head(a_out)
loss = F.cross_entropy(logits.reshape(-1, K), tgt.reshape(-1))
loss.backward()
arr("att_out", a_out)
arr("att_loss", loss.reshape(1))
for n, t in (("ca_w", c_attn.weight), ("ca_b", c_attn.bias), ("cp_w", c_proj.weight), ("cp_b", c_proj.bias)):
    arr("att_g_" + n, t.grad)

# --- llm.c-style parity: a small GPT (vocab 11, context 6, 2 blocks, 2 heads, width 8; no biases in
#     the projections, layernorms with bias, head tied to the token embedding), batch 3: logits,
#     loss, every parameter's gradient, then 10 AdamW steps (lr 1e-2, betas 0.9/0.99, decay 0.1) on
#     the same batch: the loss before each step and the parameters after ---
V, T, C, H, L, B = 11, 6, 8, 2, 2, 3


class Blk(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = torch.nn.LayerNorm(C), torch.nn.LayerNorm(C)
        self.c_attn, self.c_proj = torch.nn.Linear(C, 3 * C, bias=False), torch.nn.Linear(C, C, bias=False)
        self.c_fc, self.m_proj = torch.nn.Linear(C, 4 * C, bias=False), torch.nn.Linear(4 * C, C, bias=False)

    def forward(self, x):
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(x.shape[0], T, H, C // H).transpose(1, 2) for t in (q, k, v))
        a = (q @ k.transpose(-2, -1)) / (C // H) ** 0.5
        a = a.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
        y = (F.softmax(a, dim=-1) @ v).transpose(1, 2).contiguous().view(x.shape[0], T, C)
        x = x + self.c_proj(y)
        return x + self.m_proj(F.gelu(self.c_fc(self.ln_2(x))))


wte, wpe = torch.nn.Embedding(V, C), torch.nn.Embedding(T, C)
blocks = torch.nn.ModuleList([Blk() for _ in range(L)])
ln_f = torch.nn.LayerNorm(C)
with torch.no_grad():
    for ln in [b.ln_1 for b in blocks] + [b.ln_2 for b in blocks] + [ln_f]:
        ln.weight.copy_(1 + 0.2 * torch.randn(C))
        ln.bias.copy_(0.1 * torch.randn(C))
# nn.h's parameter order: wte, wpe, then per block ln_1, c_attn, c_proj, ln_2, c_fc, m_proj; ln_f
params = [wte.weight, wpe.weight]
for b in blocks:
    params += [b.ln_1.weight, b.ln_1.bias, b.c_attn.weight, b.c_proj.weight, b.ln_2.weight, b.ln_2.bias,
               b.c_fc.weight, b.m_proj.weight]
params += [ln_f.weight, ln_f.bias]
ids = torch.randint(0, V, (B, T))
tgt = torch.randint(0, V, (B, T))


def gpt(idx):
    x = wte(idx) + wpe(torch.arange(T))
    for b in blocks:
        x = b(x)
    return ln_f(x) @ wte.weight.t()


arr("gpt_ids", ids.float())
arr("gpt_tgt", tgt, "int32_t")
arr("gpt_params", torch.cat([p.detach().reshape(-1) for p in params]))
logits = gpt(ids)
loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
loss.backward()
arr("gpt_logits", logits)
arr("gpt_loss", loss.reshape(1))
arr("gpt_grads", torch.cat([p.grad.reshape(-1) for p in params]))
opt = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.99), weight_decay=0.1)
losses = []
for step in range(10):
    opt.zero_grad()
    loss = F.cross_entropy(gpt(ids).reshape(-1, V), tgt.reshape(-1))
    losses.append(loss.item())
    loss.backward()
    opt.step()
arr("gpt_step_losses", torch.tensor(losses))
arr("gpt_params_after", torch.cat([p.detach().reshape(-1) for p in params]))

# --- a two-layer LSTM (torch.nn.LSTM, batch_first): B=2, T=5, 3 features, hidden 4; the second
#     layer's every step to a Linear with cross-entropy over 3 classes per step ---
B, T, D, Hh, K = 2, 5, 3, 4, 3
x = torch.randn(B, T, D)
tgt = torch.randint(0, K, (B, T))
lstm = torch.nn.LSTM(D, Hh, num_layers=2, batch_first=True)
head = torch.nn.Linear(Hh, K)
arr("lstm_x", x)
arr("lstm_tgt", tgt, "int32_t")
names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1",
         "bias_hh_l1"]
arr("lstm_params", torch.cat([getattr(lstm, n).detach().reshape(-1) for n in names] +
                             [head.weight.detach().reshape(-1), head.bias.detach()]))
seq_out, _ = lstm(x)
logits = head(seq_out)
loss = F.cross_entropy(logits.reshape(-1, K), tgt.reshape(-1))
loss.backward()
arr("lstm_logits", logits)
arr("lstm_loss", loss.reshape(1))
arr("lstm_grads", torch.cat([getattr(lstm, n).grad.reshape(-1) for n in names] + [head.weight.grad.reshape(-1), head.bias.grad]))

# --- a GRU (torch.nn.GRU, batch_first): B=2, T=5, 3 features, hidden 4, its last step to a Linear, MSE ---
x = torch.randn(2, 5, 3)
y = torch.randn(2, 2)
gru = torch.nn.GRU(3, 4, batch_first=True)
head = torch.nn.Linear(4, 2)
arr("gru_x", x)
arr("gru_y", y)
names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
arr("gru_params", torch.cat([getattr(gru, n).detach().reshape(-1) for n in names] +
                            [head.weight.detach().reshape(-1), head.bias.detach()]))
seq_out, _ = gru(x)
o = head(seq_out[:, -1])
loss = F.mse_loss(o, y)
loss.backward()
arr("gru_out", o)
arr("gru_loss", loss.reshape(1))
arr("gru_grads", torch.cat([getattr(gru, n).grad.reshape(-1) for n in names] + [head.weight.grad.reshape(-1), head.bias.grad]))

print("/* Generated by tools/make_seq_ref.py with PyTorch %s. Do not edit. */" % torch.__version__)
print("#include <stdint.h>")
print("\n".join(out))

"""Optimizers from well-kept packages: ``pytorch-optimizer``, ``prodigyopt``, ``schedulefree``.

Each entry runs the package's own class (imported on first use, like torch's); nothing is
re-implemented. The LaTeX is the rule the package runs, read from its source (pytorch-optimizer
4.1.0, prodigyopt 1.1.2, schedulefree 1.4.1), with its defaults and order of operations; the note
says where it departs from the paper. pytorch-optimizer's classes run with their default
``foreach=None``, which takes the multi-tensor path on the CPU (a notebook gets the same).

Execution, read from the code: Lion, ADOPT, Adan, AdaBelief, AdEMAMix, Schedule-Free AdamW and
Lookahead's slow weights are elementwise (one ``(N, 2)`` leaf); LAMB's trust ratio is a ratio of
per-tensor norms and SOAP's preconditioner is a matrix per tensor (``per_tensor``: one parameter
per particle); Prodigy's step size d sums over every parameter it holds (``per_particle``). Global
gradient-norm clipping inside a class (Adan's and LAMB's ``max_grad_norm``) is left at off and not
exposed: it would couple the particles; a run's own per-particle ``clip_norm`` does that job.

Adan and AdEMAMix take ``betas=(β₁, β₂, β₃)``; the schema shows the pair ``betas`` and ``beta3``
(``appended``) because the scene, URL and UI know pairs, not triples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optviz.optimizers.spec import FROM_SIGNATURE, Hyperparameter, OptimizerSpec

if TYPE_CHECKING:  # the classes load lazily from cls_path; this names the dependencies
    import prodigyopt  # noqa: F401
    import pytorch_optimizer  # noqa: F401
    import schedulefree  # noqa: F401

_SIG = FROM_SIGNATURE

# --- hyperparameters ------------------------------------------------------------------------


def _lr(default: Any, help: str) -> Hyperparameter:
    return Hyperparameter(name="lr", kind="float", default=default, low=1e-6, high=10.0,
                          log=True, help=help, label="learning rate γ")


def _eps(default: Any, help: str = "ε added to the denominator for stability") -> Hyperparameter:
    return Hyperparameter(name="eps", kind="float", default=default, low=1e-20, high=1.0,
                          log=True, help=help, label="epsilon ε")


def _betas(default: Any, help: str) -> Hyperparameter:
    return Hyperparameter(name="betas", kind="pair", default=default, low=0.0, high=0.9999,
                          help=help, label="betas (β₁, β₂)")


def _beta3(default: float, help: str) -> Hyperparameter:
    return Hyperparameter(name="beta3", kind="float", default=default, low=0.0, high=0.99999,
                          help=help + " (the third element of the class's betas)",
                          label="beta β₃")


def _weight_decay(default: Any = _SIG) -> Hyperparameter:
    return Hyperparameter(name="weight_decay", kind="float", default=default, low=0.0,
                          high=10.0, help="weight decay λ (how it applies: see the rule)",
                          label="weight decay λ")


def _flag(name: str, help: str, label: str, default: Any = _SIG) -> Hyperparameter:
    return Hyperparameter(name=name, kind="bool", default=default, help=help, label=label)


def _decouple(name: str = "weight_decouple") -> Hyperparameter:
    return _flag(name, "decoupled decay θ ← θ(1 − γλ) (AdamW) instead of λθ added to g",
                 "decoupled weight decay")


_DECAY_G = (
    r" g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}\,[\text{not decoupled}], \quad"
    r" \theta'_{t-1} = (1 - \gamma\lambda)^{[\text{decoupled}]}\, \theta_{t-1} \\"
)

# --- pytorch-optimizer ----------------------------------------------------------------------

LION = OptimizerSpec(
    key="lion",
    label="Lion",
    family="first-order",
    cls_path="pytorch_optimizer.Lion",
    schema=(
        _lr(0.01, "step size γ: every step moves each coordinate by exactly γ (demo default; "
            "package: 1e-4)"),
        _betas(_SIG, "β₁ mixes the momentum into the sign, β₂ is the momentum's own decay"),
        _weight_decay(),
        _decouple(),
    ),
    update_rule=(
        r"\begin{aligned}"
        + _DECAY_G
        + r" u_t &= \operatorname{sign}\bigl(\beta_1 m_{t-1} + (1-\beta_1)\, g_t\bigr) \\"
        r" m_t &= \beta_2 m_{t-1} + (1-\beta_2)\, g_t \\"
        r" \theta_t &= \theta'_{t-1} - \gamma\, u_t"
        r" \end{aligned}"
    ),
    note=(
        "As in the paper (its decay θ − γλθ is applied before the sign step); sign(0) = 0, so a "
        "coordinate whose interpolation is exactly 0 does not move. Every step has length γ√2 "
        "or γ on a 2D surface: Lion cannot slow down near a minimum, it oscillates at scale γ."
    ),
    reference="Chen et al. (2023), Symbolic Discovery of Optimization Algorithms",
    separable=True,
)

ADOPT = OptimizerSpec(
    key="adopt",
    label="ADOPT",
    family="adaptive",
    cls_path="pytorch_optimizer.ADOPT",
    schema=(
        _lr(0.05, "step size γ (demo default; package: 1e-3)"),
        _betas(_SIG, "β₁: momentum of the normalised gradient; β₂: decay of v"),
        _eps(_SIG, "ε: floor of √v (a max, not an addition)"),
        _weight_decay(),
        _decouple(),
    ),
    update_rule=(
        r"\begin{aligned}"
        + _DECAY_G
        + r" t = 1:&\ \ v_1 = g_1^2, \quad \theta_1 = \theta'_0 \quad (\text{no step}) \\"
        r" n_t &= \operatorname{clip}\Bigl(\frac{g_t}{\max(\sqrt{v_{t-1}},\ \epsilon)},"
        r"\ -t^{1/4},\ t^{1/4}\Bigr) \\"
        r" m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, n_t \\"
        r" \theta_t &= \theta'_{t-1} - \gamma\, m_t \\"
        r" v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2"
        r" \end{aligned}"
    ),
    note=(
        "The gradient is normalised by the PREVIOUS second moment (so g_t and v are "
        "independent), then momentum; the clip ±t^¼ is the package's default clip_lambda (the "
        "paper's Algorithm 2). ε is a floor on √v, not added to it. No bias correction."
    ),
    reference=(
        "Taniguchi et al. (2024), ADOPT: Modified Adam Can Converge with Any β₂ with the "
        "Optimal Rate"
    ),
    separable=True,
)

ADAN = OptimizerSpec(
    key="adan",
    label="Adan",
    family="adaptive",
    cls_path="pytorch_optimizer.Adan",
    schema=(
        _lr(0.05, "step size γ (demo default; package: 1e-3)"),
        _betas((0.98, 0.92), "β₁: average of g; β₂: average of the gradient difference "
               "g_t − g_{t−1}"),
        _beta3(0.99, "β₃: average of the squared Nesterov-corrected gradient"),
        _weight_decay(),
        _decouple(),
        _eps(_SIG),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" \Delta_t &= g_t - g_{t-1} \quad (g_0 = g_1,\ g_t = \nabla f(\theta_{t-1})) \\"
        r" m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \quad"
        r" n_t = \beta_2 n_{t-1} + (1-\beta_2)\, \Delta_t \\"
        r" u_t &= g_t + \beta_2 \Delta_t, \quad v_t = \beta_3 v_{t-1} + (1-\beta_3)\, u_t^2 \\"
        r" \eta_t &= \frac{\gamma}{\sqrt{v_t}/\sqrt{1-\beta_3^t} + \epsilon} \\"
        r" \theta'_t &= (1 - \gamma\lambda)^{[\text{decoupled}]}\, \theta_{t-1}"
        r" - \eta_t \Bigl(\frac{m_t}{1-\beta_1^t} + \frac{\beta_2\, n_t}{1-\beta_2^t}\Bigr) \\"
        r" \theta_t &= \theta'_t \,/\, (1 + \gamma\lambda)^{[\text{not decoupled}]}"
        r" \end{aligned}"
    ),
    note=(
        "The package's β are one minus the paper's (paper β₁ = 0.02 is 0.98 here); it adds bias "
        "corrections, as the authors' code does. Without decoupling, λ acts as the paper's "
        "proximal step θ/(1 + γλ). Its global gradient-norm clip (max_grad_norm) stays off: it "
        "would couple particles."
    ),
    reference=(
        "Xie et al. (2024), Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing "
        "Deep Models (IEEE TPAMI; arXiv 2022)"
    ),
    separable=True,
    appended=(("beta3", "betas"),),
)

LAMB = OptimizerSpec(
    key="lamb",
    label="LAMB",
    family="adaptive",
    cls_path="pytorch_optimizer.Lamb",
    schema=(
        _lr(0.02, "γ: the step's length is about γ‖θ‖ (demo default; package: 1e-3)"),
        _betas(_SIG, "decay rates (β₁, β₂) of the moving averages of g and g²"),
        _eps(_SIG),
        _weight_decay(),
        _flag("grad_averaging", "m averages g with weight 1 − β₁ (off: m = β₁m + g)",
              "gradient averaging"),
        _flag("adam", "trust ratio fixed at 1: plain Adam without bias-correcting v",
              "no trust ratio (Adam)"),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" \theta'_{t-1} &= (1 - \gamma\lambda)\, \theta_{t-1}, \quad g_t = \nabla f(\theta_{t-1})"
        r" \\"
        r" m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \quad"
        r" v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\"
        r" u_t &= \frac{m_t}{\sqrt{v_t} + \epsilon}, \quad"
        r" r_t = \begin{cases} \dfrac{\min(\lVert\theta'_{t-1}\rVert,\ 10)}"
        r"{\lVert u_t\rVert + \epsilon} & \lVert\theta'\rVert, \lVert u_t\rVert \neq 0 \\"
        r" 1 & \text{otherwise} \end{cases} \\"
        r" \theta_t &= \theta'_{t-1} - \frac{\gamma}{1-\beta_1^t}\, r_t\, u_t"
        r" \end{aligned}"
    ),
    note=(
        "Norms are per tensor; here each point is one tensor, so the step has length ≈ "
        "γ‖θ‖/(1 − β₁ᵗ): LAMB moves fast far from the origin and crawls near it (the origin is "
        "special to a trust ratio). The package bias-corrects m (through the step size) but not "
        "v, clamps ‖θ‖ at 10, and decays θ before the norms (weight_decouple, its default)."
    ),
    reference=(
        "You et al. (2020), Large Batch Optimization for Deep Learning: Training BERT in 76 "
        "minutes"
    ),
    separable=False,
    execution="per_tensor",
    param_shape=(2,),
)

ADABELIEF = OptimizerSpec(
    key="adabelief",
    label="AdaBelief",
    family="adaptive",
    cls_path="pytorch_optimizer.AdaBelief",
    schema=(
        _lr(0.05, "step size γ (demo default; package: 1e-3)"),
        _betas(_SIG, "decay rates (β₁, β₂) of the averages of g and of (g − m)²"),
        _eps(_SIG, "ε added to s at every step and again to the denominator"),
        _weight_decay(),
        _decouple(),
    ),
    update_rule=(
        r"\begin{aligned}"
        + _DECAY_G
        + r" m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\"
        r" s_t &= \beta_2 s_{t-1} + (1-\beta_2)\, (g_t - m_t)^2 + \epsilon \\"
        r" \theta_t &= \theta'_{t-1} - \frac{\gamma}{1-\beta_1^t}\,"
        r" \frac{m_t}{\sqrt{s_t}/\sqrt{1-\beta_2^t} + \epsilon}"
        r" \end{aligned}"
    ),
    note=(
        "Adam with the 'belief' (g − m)² in place of g²: large steps where the gradient is "
        "predictable, small where it surprises. As in the paper, ε enters twice (inside s and "
        "outside the root); decay is decoupled by default (weight_decouple)."
    ),
    reference=(
        "Zhuang et al. (2020), AdaBelief Optimizer: Adapting Stepsizes by the Belief in "
        "Observed Gradients"
    ),
    separable=True,
)

ADEMAMIX = OptimizerSpec(
    key="ademamix",
    label="AdEMAMix",
    family="adaptive",
    cls_path="pytorch_optimizer.AdEMAMix",
    schema=(
        _lr(0.05, "step size γ (demo default; package: 1e-3)"),
        _betas((0.9, 0.999), "decay rates (β₁, β₂) of the fast average of g and of g²"),
        _beta3(0.9999, "β₃: decay of the slow average of g"),
        Hyperparameter(name="alpha", kind="float", default=_SIG, low=0.0, high=100.0,
                       help="α: weight of the slow average in the step", label="alpha α"),
        _weight_decay(),
        _decouple(),
        _eps(_SIG),
    ),
    update_rule=(
        r"\begin{aligned}"
        + _DECAY_G
        + r" m^{(1)}_t &= \beta_1 m^{(1)}_{t-1} + (1-\beta_1)\, g_t, \quad"
        r" m^{(2)}_t = \beta_3 m^{(2)}_{t-1} + (1-\beta_3)\, g_t \\"
        r" v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\"
        r" \theta_t &= \theta'_{t-1} - \gamma\,"
        r" \frac{m^{(1)}_t/(1-\beta_1^t) + \alpha\, m^{(2)}_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t}"
        r" + \epsilon}"
        r" \end{aligned}"
    ),
    note=(
        "Two momenta: Adam's fast one and a slow one (β₃ = 0.9999 remembers ~10⁴ steps, not "
        "bias-corrected) weighted by α. The paper warms α and β₃ up over t_alpha_beta3 steps; "
        "here (package default None) they are constant, so the slow term starts tiny."
    ),
    reference=(
        "Pagliardini, Ablin & Grangier (2024), The AdEMAMix Optimizer: Better, Faster, Older"
    ),
    separable=True,
    appended=(("beta3", "betas"),),
)

SOAP = OptimizerSpec(
    key="soap",
    label="SOAP",
    family="adaptive",
    cls_path="pytorch_optimizer.SOAP",
    schema=(
        _lr(0.05, "step size γ (demo default; package: 3e-3)"),
        _betas(_SIG, "β₁: average of G; β₂: average of the rotated G², and of the "
               "preconditioner's GᵀG"),
        _weight_decay(),
        Hyperparameter(name="precondition_frequency", kind="int", default=_SIG, low=1,
                       high=1000, help="f: the eigenbasis Q is refreshed every f steps (one "
                       "power iteration and a QR)", label="precondition frequency f"),
        _flag("correct_bias", "bias-correct the step by √(1 − β₂ˢ)/(1 − β₁ˢ)",
              "bias correction"),
        _flag("normalize_gradient", "divide the step by its RMS", "normalise the step"),
        _eps(_SIG),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" &G_t = \nabla f(\theta_{t-1}) \in \mathbb{R}^{1\times 2}, \quad s = t - 1"
        r" \quad (t = 1 \text{: only } R_1 = (1-\beta_2) G_1^\top G_1,\ Q = \operatorname{eig}"
        r"(R_1)) \\"
        r" &m_t = \beta_1 m_{t-1} + (1-\beta_1)\, G_t, \quad"
        r" v_t = \beta_2 v_{t-1} + (1-\beta_2)\, (G_t Q)^2 \\"
        r" &\theta'_t = \theta_{t-1} - \gamma \tfrac{\sqrt{1-\beta_2^s}}{1-\beta_1^s}"
        r" \Bigl(\frac{m_t Q}{\sqrt{v_t} + \epsilon}\Bigr) Q^\top, \quad"
        r" \theta_t = (1 - \gamma\lambda)\, \theta'_t \\"
        r" &R_t = \beta_2 R_{t-1} + (1-\beta_2)\, G_t^\top G_t; \ \text{every } f \text{ steps: }"
        r" Q \leftarrow \operatorname{QR}(R_t Q)"
        r" \end{aligned}"
    ),
    note=(
        "Adam run in the eigenbasis Q of Shampoo's preconditioner R = avg GᵀG (each point is a "
        "1×2 matrix; the 1×1 left factor is ±1 and cancels): on a 2D surface it is Adam in "
        "axes that turn with the gradients' principal direction. The package skips the first "
        "step (it only builds Q), refreshes Q by one power iteration and a float32 QR (v is "
        "reordered with it), and decays θ after the step (weight_decay 0.01 by default)."
    ),
    reference=(
        "Vyas et al. (2025), SOAP: Improving and Stabilizing Shampoo using Adam (ICLR 2025; "
        "arXiv 2024)"
    ),
    separable=False,
    execution="per_tensor",
    param_shape=(1, 2),
)

SOPHIA_H = OptimizerSpec(
    key="sophiah",
    label="SophiaH",
    family="second-order",
    cls_path="pytorch_optimizer.SophiaH",
    schema=(
        _lr(0.05, "γ: at most γρ per coordinate and step (demo default; package: 0.06)"),
        _betas(_SIG, "β₁: momentum of g; β₂: average of the Hessian-diagonal estimates"),
        _weight_decay(),
        _decouple(),
        Hyperparameter(name="p", kind="float", default=1.0, low=1e-6, high=100.0, log=True,
                       help="ρ: each coordinate of m/h is clipped to [−ρ, ρ] (demo default; "
                       "package: 0.01, steps of at most 6e-4)", label="clip ρ"),
        Hyperparameter(name="update_period", kind="int", default=_SIG, low=1, high=1000,
                       help="k: the Hessian estimate is refreshed every k steps",
                       label="Hessian period k"),
        Hyperparameter(name="hessian_distribution", kind="choice", default=_SIG,
                       choices=("gaussian", "rademacher"),
                       help="the probe z of Hutchinson's z ⊙ (Hz)", label="probe z"),
        _eps(_SIG, "ε: floor of the curvature h (a max)"),
    ),
    update_rule=(
        r"\begin{aligned}"
        + _DECAY_G
        + r" \hat h_t &= z_t \odot \bigl(\nabla^2 f(\theta_{t-1})\, z_t\bigr), \quad"
        r" h_t = \beta_2 h_{t-1} + (1-\beta_2)\, \hat h_t"
        r" \quad (t - 1 \equiv 0 \bmod k;\ \text{else } h_t = h_{t-1}) \\"
        r" m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\"
        r" \theta_t &= \theta'_{t-1} - \gamma\, \operatorname{clip}\Bigl("
        r"\frac{m_t}{\max(h_t,\ \epsilon)},\ -\rho,\ \rho\Bigr)"
        r" \end{aligned}"
    ),
    note=(
        "A clipped diagonal-Newton step with momentum. Hutchinson's ẑ ⊙ (Hz) estimates the "
        "Hessian's diagonal; it is often negative on a nonconvex surface, then max(h, ε) makes "
        "the step a sign step of size γρ. Here H is the surface's exact Hessian (noise-free) and "
        "z a fixed counter-based stream (optviz.noise, the same z_t for every particle), handed "
        "to the package's step(hessian=…) by a step pre-hook; the package would draw z from "
        "torch's global RNG and get Hz by a second backward pass (create_graph)."
    ),
    reference=(
        "Liu et al. (2024), Sophia: A Scalable Stochastic Second-order Optimizer for Language "
        "Model Pre-training (ICLR 2024); Hutchinson (1990), trace estimator"
    ),
    separable=False,
    needs_hessian=True,
)

# Lookahead's bases: every elementwise optimizer of torch and the packages, by UI variant (the
# own ones are left out: the exported script builds the base from its class path).
LOOKAHEAD_BASES = (
    "sgd", "momentum", "nesterov", "rprop", "adagrad", "rmsprop", "adadelta", "adam", "amsgrad",
    "adam_l2", "adamw", "adamax", "nadam", "radam", "asgd",
    "lion", "adopt", "adan", "adabelief", "ademamix",
)

LOOKAHEAD = OptimizerSpec(
    key="lookahead",
    label="Lookahead",
    family="wrapper",
    cls_path="pytorch_optimizer.Lookahead",
    schema=(
        Hyperparameter(name="base", kind="choice", default="adam", choices=LOOKAHEAD_BASES,
                       help="the inner (fast) optimizer, as that variant runs on its own",
                       label="base optimizer"),
        Hyperparameter(name="k", kind="int", default=_SIG, low=1, high=100,
                       help="k: fast steps between two slow-weight updates", label="k steps"),
        Hyperparameter(name="alpha", kind="float", default=_SIG, low=0.0, high=1.0,
                       help="α: the slow weights move this fraction of the way to the fast ones",
                       label="alpha α"),
        Hyperparameter(name="pullback_momentum", kind="choice", default=_SIG,
                       choices=("none", "reset", "pullback"),
                       help="at each sync: leave the base's momentum_buffer (SGD's), zero it, "
                       "or interpolate it like the weights", label="momentum at sync"),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" \theta_t &= \operatorname{base\ step}(\theta_{t-1}) \quad \text{(fast weights)} \\"
        r" \text{if } t \bmod k = 0:&\ \ \phi \leftarrow \phi + \alpha\, (\theta_t - \phi),"
        r" \quad \theta_t \leftarrow \phi \quad (\phi_0 = \theta_0)"
        r" \end{aligned}"
    ),
    note=(
        "k steps forward, one step back: every k steps the point jumps back to the slow weights "
        "moved α of the way toward it, so the path zigzags at each sync. The slow weights are "
        "per coordinate; the base runs as its variant does alone."
    ),
    reference=(
        "Zhang, Lucas, Hinton & Ba (2019), Lookahead Optimizer: k steps forward, 1 step back"
    ),
    separable=True,
    wraps=True,
)

# --- prodigyopt -----------------------------------------------------------------------------

PRODIGY = OptimizerSpec(
    key="prodigy",
    label="Prodigy",
    family="adaptive",
    cls_path="prodigyopt.Prodigy",
    schema=(
        _lr(_SIG, "γ multiplies the learned step size d (1 = the paper's parameter-free rule)"),
        _betas(_SIG, "decay rates (β₁, β₂) of the averages of d·g and d²·g²"),
        Hyperparameter(name="d0", kind="float", default=_SIG, low=1e-12, high=1.0, log=True,
                       help="d₀: the initial estimate of the distance to the solution",
                       label="initial d₀"),
        Hyperparameter(name="d_coef", kind="float", default=_SIG, low=1e-3, high=100.0,
                       log=True, help="multiplies the estimate d̂", label="d coefficient"),
        _weight_decay(0.0),
        _decouple("decouple"),
        _flag("use_bias_correction", "Adam's bias correction √(1 − β₂ᵗ)/(1 − β₁ᵗ) in the step",
              "bias correction"),
        _flag("safeguard_warmup", "leave γ out of s (the paper's safeguard for warm-up "
              "schedules)", "safeguard warm-up"),
        _eps(_SIG, "ε·d added to the denominator"),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" \hat\gamma_t &= \gamma\, d_{t-1}, \quad \beta_3 = \sqrt{\beta_2}, \quad"
        r" g_t = \nabla f(\theta_{t-1}) \\"
        r" m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, d_{t-1}\, g_t, \quad"
        r" v_t = \beta_2 v_{t-1} + (1-\beta_2)\, d_{t-1}^2\, g_t^2 \\"
        r" r_t &= \beta_3 r_{t-1} + \tfrac{d_{t-1}}{d_0}\, \hat\gamma_t\,"
        r" \langle g_t,\ \theta_0 - \theta_{t-1} \rangle, \quad"
        r" s_t = \beta_3 s_{t-1} + \tfrac{d_{t-1}}{d_0}\, \hat\gamma_t\, g_t \\"
        r" d_t &= \max\Bigl(d_{t-1},\ c_d\, \frac{r_t}{\lVert s_t \rVert_1}\Bigr) \\"
        r" \theta_t &= \theta_{t-1} - \hat\gamma_t\, \frac{m_t}{\sqrt{v_t} + d_t\, \epsilon}"
        r" \end{aligned}"
    ),
    note=(
        "Adam whose step size d is learned from how far θ has moved along the gradients (a "
        "lower bound on the distance to the solution); d never shrinks. r and s sum over every "
        "parameter of the optimizer, so each particle has its own instance. The package scales "
        "r and s by d/d₀ (the paper does not; the ratio is the same), and the step uses the "
        "previous d, the denominator the new one. Shown without decay and bias correction "
        "(defaults)."
    ),
    reference=(
        "Mishchenko & Defazio (2024), Prodigy: An Expeditiously Adaptive Parameter-Free "
        "Learner (ICML 2024)"
    ),
    separable=False,
    execution="per_particle",
    param_shape=(2,),
    group_state=("d", "d_numerator"),  # its denominator and estimate follow from s and these
)

# --- schedulefree ---------------------------------------------------------------------------

SCHEDULE_FREE_ADAMW = OptimizerSpec(
    key="adamw_schedulefree",
    label="Schedule-Free AdamW",
    family="adaptive",
    cls_path="schedulefree.AdamWScheduleFree",
    schema=(
        _lr(0.05, "step size γ of z (demo default; package: 0.0025)"),
        _betas(_SIG, "β₁: where the gradient is taken, between z (0) and x (1); β₂: decay of "
               "v"),
        _eps(_SIG),
        Hyperparameter(name="weight_decay", kind="float", default=0.0, low=0.0, high=10.0,
                       help="λ: λy is added to the normalised gradient", label="weight decay λ"),
        Hyperparameter(name="warmup_steps", kind="int", default=_SIG, low=0, high=10_000,
                       help="linear warm-up of γ over this many steps", label="warm-up steps"),
        Hyperparameter(name="r", kind="float", default=_SIG, low=0.0, high=10.0,
                       help="r: the average weights step t by tʳ (0 = uniform average)",
                       label="average power r"),
        Hyperparameter(name="weight_lr_power", kind="float", default=_SIG, low=0.0, high=10.0,
                       help="the average weights step t by γ_max^p", label="lr power p"),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" y_t &= (1-\beta_1)\, z_t + \beta_1 x_t, \quad g_t = \nabla f(y_t)"
        r" \quad (\text{gradient point; } x_1 = z_1 = \theta_0) \\"
        r" v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \quad"
        r" \hat g_t = \frac{g_t}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon} + \lambda\, y_t \\"
        r" z_{t+1} &= z_t - \gamma_t\, \hat g_t, \quad \gamma_t = \gamma \min(1,\ t/T_w) \\"
        r" c_{t+1} &= \frac{w_t}{\sum_{i \le t} w_i}, \quad w_t = t^r\,"
        r" (\max_{i\le t} \gamma_i)^p \\"
        r" x_{t+1} &= (1 - c_{t+1})\, x_t + c_{t+1}\, z_{t+1} \quad \text{(the point drawn)}"
        r" \end{aligned}"
    ),
    note=(
        "The path drawn is x, the running average the optimizer reports (optimizer.eval()); "
        "gradients are taken at y, between x and the SGD-like sequence z (the state grad_point, "
        "drawable as a ghost). The package keeps y in the parameter and updates it in place "
        "(y ← (1 − c)y + cz + γ(β₁(1 − c) − 1)ĝ); each step optviz calls train() to get y and "
        "eval() to read x = (y − (1 − β₁)z)/β₁, as the package's training loop does."
    ),
    reference="Defazio et al. (2024), The Road Less Scheduled (NeurIPS 2024)",
    separable=True,
    reports_average=True,
    group_state=("lr_max", "weight_sum"),  # functions of the lr history only
)

PACKAGE_SPECS: tuple[OptimizerSpec, ...] = (
    LION,
    ADOPT,
    ADAN,
    LAMB,
    ADABELIEF,
    ADEMAMIX,
    SOAP,
    PRODIGY,
    SCHEDULE_FREE_ADAMW,
    SOPHIA_H,
    LOOKAHEAD,
)

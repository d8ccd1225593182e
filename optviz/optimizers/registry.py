"""The registry: one :class:`OptimizerSpec` per optimizer, and the UI's variants.

Hyperparameter names are the classes' own keyword arguments. Defaults are torch's own, except
where torch's value is bad for a 2D demo (marked "demo default" in the help): learning rates that
would barely move in a few hundred steps (Adagrad, Adam family) or diverge on Rosenbrock (ASGD),
and L-BFGS's ``max_iter`` (1 iteration per ``step()`` so one animation frame is one iteration).
Every default lowers Rosenbrock's loss from (−1.5, 2) within 200 steps (tests check it).
``foreach``/``fused``/``capturable``/``differentiable``/``maximize`` are never exposed or set.

Every ``torch.optim`` optimizer is here but ``SparseAdam``: it only accepts sparse gradients
(``nn.Embedding(sparse=True)`` rows), and a loss surface's gradient is dense; on a dense gradient
it is Adam, which is here. Muon takes only matrices, so each point runs as a 1×2 matrix;
Adafactor and Muon have per-parameter quantities (RMS, norms), so each particle is its own
parameter (``execution="per_tensor"``), and tests check every declaration against a plain loop.
"""

from __future__ import annotations

from typing import Any

from optviz.optimizers.packages import PACKAGE_SPECS
from optviz.optimizers.spec import FROM_SIGNATURE, Hyperparameter, OptimizerSpec, Variant

# --- reusable hyperparameters -------------------------------------------------------------


def _lr(default: Any, help: str = "step size γ") -> Hyperparameter:
    return Hyperparameter(
        name="lr",
        kind="float",
        default=default,
        low=1e-6,
        high=10.0,
        log=True,
        help=help,
        label="learning rate γ",
    )


def _eps(default: Any, help: str = "ε added to the denominator for stability") -> Hyperparameter:
    return Hyperparameter(
        name="eps",
        kind="float",
        default=default,
        low=1e-16,
        high=1.0,
        log=True,
        help=help,
        label="epsilon ε",
    )


def _weight_decay(default: float = 0.0, symbol: str = "λ") -> Hyperparameter:
    return Hyperparameter(
        name="weight_decay",
        kind="float",
        default=default,
        low=0.0,
        high=10.0,
        log=False,
        help=f"L2 penalty: {symbol}θ is added to the gradient",
        label=f"weight decay {symbol}",
    )


def _betas() -> Hyperparameter:
    return Hyperparameter(
        name="betas",
        kind="pair",
        default=(0.9, 0.999),
        low=0.0,
        high=0.9999,
        log=False,
        help="decay rates (β₁, β₂) of the moving averages of g and g²",
        label="betas (β₁, β₂)",
    )


def _fraction(*, name: str, default: Any, help: str, label: str) -> Hyperparameter:
    return Hyperparameter(
        name=name,
        kind="float",
        default=default,
        low=0.0,
        high=0.9999,
        log=False,
        help=help,
        label=label,
    )


def _amsgrad() -> Hyperparameter:
    return Hyperparameter(
        name="amsgrad",
        kind="bool",
        default=False,
        help="use the running maximum of v (AMSGrad)",
        label="AMSGrad",
    )


def _decoupled() -> Hyperparameter:
    return Hyperparameter(
        name="decoupled_weight_decay",
        kind="bool",
        default=False,
        help="decay θ directly, θ ← θ(1 − γλ), as AdamW does, instead of adding λθ to g",
        label="decoupled weight decay",
    )


# Adam-family rules with torch's ``decoupled_weight_decay`` flag (NAdam, RAdam): L2 in the
# gradient, or AdamW's decay of θ itself before the step (torch: param.mul_(1 - lr * wd)).
_DECOUPLED_G = (
    r" g_t &= \begin{cases} \nabla f(\theta_{t-1}) & \text{decoupled} \\"
    r" \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} & \text{otherwise} \end{cases}, \quad"
    r" \theta'_{t-1} = \begin{cases} (1 - \gamma\lambda)\, \theta_{t-1} & \text{decoupled} \\"
    r" \theta_{t-1} & \text{otherwise} \end{cases} \\"
)

_ADAM_MV = (
    r"m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\"
    r" v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\"
)

# --- torch.optim ---------------------------------------------------------------------------

SGD = OptimizerSpec(
    key="sgd",
    label="SGD",
    family="first-order",
    cls_path="torch.optim.SGD",
    schema=(
        _lr(1e-3),
        _fraction(
            name="momentum",
            default=0.0,
            help="momentum factor μ (0 = plain gradient descent)",
            label="momentum μ",
        ),
        Hyperparameter(
            name="dampening",
            kind="float",
            default=0.0,
            low=0.0,
            high=1.0,
            log=False,
            help="τ: new gradients enter b as (1 − τ)g",
            label="dampening τ",
        ),
        _weight_decay(),
        Hyperparameter(
            name="nesterov",
            kind="bool",
            default=False,
            help="Nesterov momentum (needs μ > 0 and τ = 0)",
            label="Nesterov",
        ),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\"
        r" b_t &= \mu\, b_{t-1} + (1-\tau)\, g_t \quad (b_1 = g_1) \\"
        r" d_t &= \begin{cases} g_t + \mu\, b_t & \text{Nesterov} \\"
        r" b_t & \text{otherwise} \end{cases} \quad (d_t = g_t \text{ if } \mu = 0) \\"
        r" \theta_t &= \theta_{t-1} - \gamma\, d_t"
        r" \end{aligned}"
    ),
    note=(
        "PyTorch's buffer b sums raw gradients and γ multiplies it afterwards (Sutskever et al. "
        "put γ inside: v ← μv − γg); b starts as g₁ without dampening; Nesterov is the "
        "look-ahead form g + μb."
    ),
    reference=(
        "Robbins & Monro (1951), A Stochastic Approximation Method; Polyak (1964), momentum; "
        "Sutskever et al. (2013), On the importance of initialization and momentum in deep "
        "learning"
    ),
    separable=True,
)

RPROP = OptimizerSpec(
    key="rprop",
    label="Rprop",
    family="adaptive",
    cls_path="torch.optim.Rprop",
    schema=(
        _lr(1e-2, "initial step size η₀ of every coordinate"),
        Hyperparameter(
            name="etas",
            kind="pair",
            default=(0.5, 1.2),
            low=0.0,
            high=10.0,
            log=False,
            help="(η₋, η₊): shrink factor after a sign change (0 < η₋ < 1), growth factor "
            "otherwise (η₊ > 1); torch requires 0 < η₋ < 1 < η₊",
            label="etas (η₋, η₊)",
            bounds=((0.0, 1.0), (1.0, 10.0)),
            exclusive=True,
        ),
        Hyperparameter(
            name="step_sizes",
            kind="pair",
            default=(1e-6, 50.0),
            low=0.0,
            high=1000.0,
            log=False,
            help="(Γ_min, Γ_max): bounds of each coordinate's step size",
            label="step sizes (Γ_min, Γ_max)",
            ordered=True,
        ),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" s_t &= \begin{cases} \eta_+ & g_t g_{t-1} > 0 \\ \eta_- & g_t g_{t-1} < 0"
        r" \quad (\text{then } g_t \leftarrow 0) \\ 1 & \text{otherwise} \end{cases} \\"
        r" \eta_t &= \operatorname{clip}(s_t\, \eta_{t-1},\ \Gamma_{\min},\ \Gamma_{\max}),"
        r" \quad \eta_0 = \gamma \\"
        r" \theta_t &= \theta_{t-1} - \eta_t \operatorname{sign}(g_t)"
        r" \end{aligned}"
    ),
    note=(
        "PyTorch runs Rprop without weight-backtracking (iRprop⁻ style): after a sign change "
        "the step is skipped and the stored gradient set to 0; step sizes start at lr."
    ),
    reference=(
        "Riedmiller & Braun (1993), A direct adaptive method for faster backpropagation "
        "learning: the RPROP algorithm; Igel & Hüsken (2000), Improving the Rprop learning "
        "algorithm"
    ),
    separable=True,
)

ADAGRAD = OptimizerSpec(
    key="adagrad",
    label="AdaGrad",
    family="adaptive",
    cls_path="torch.optim.Adagrad",
    schema=(
        _lr(0.5, "step size γ (demo default; torch: 0.01)"),
        Hyperparameter(
            name="lr_decay",
            kind="float",
            default=0.0,
            low=0.0,
            high=10.0,
            log=False,
            help="η: step t uses γ/(1 + (t − 1)η)",
            label="lr decay η",
        ),
        _weight_decay(),
        Hyperparameter(
            name="initial_accumulator_value",
            kind="float",
            default=0.0,
            low=0.0,
            high=100.0,
            log=False,
            help="starting value G₀ of the sum of squared gradients",
            label="initial accumulator G₀",
        ),
        _eps(1e-10),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\"
        r" G_t &= G_{t-1} + g_t^2 \\"
        r" \theta_t &= \theta_{t-1} - \frac{\gamma}{1 + (t-1)\,\eta}\,"
        r" \frac{g_t}{\sqrt{G_t} + \epsilon}"
        r" \end{aligned}"
    ),
    note="ε is added outside the square root; PyTorch adds an optional learning-rate decay η.",
    reference=(
        "Duchi, Hazan & Singer (2011), Adaptive Subgradient Methods for Online Learning and "
        "Stochastic Optimization"
    ),
    separable=True,
)

RMSPROP = OptimizerSpec(
    key="rmsprop",
    label="RMSprop",
    family="adaptive",
    cls_path="torch.optim.RMSprop",
    schema=(
        _lr(1e-2),
        _fraction(
            name="alpha",
            default=0.99,
            help="smoothing α of the moving average of g²",
            label="alpha α",
        ),
        _eps(1e-8),
        _weight_decay(),
        _fraction(
            name="momentum",
            default=0.0,
            help="momentum μ on the normalized step",
            label="momentum μ",
        ),
        Hyperparameter(
            name="centered",
            kind="bool",
            default=False,
            help="divide by the estimated variance v − ḡ² instead of v",
            label="centered",
        ),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\"
        r" v_t &= \alpha\, v_{t-1} + (1-\alpha)\, g_t^2 \\"
        r" \tilde v_t &= \begin{cases} v_t - \bar g_t^2,\ \ \bar g_t = \alpha\,\bar g_{t-1}"
        r" + (1-\alpha)\, g_t & \text{centered} \\ v_t & \text{otherwise} \end{cases} \\"
        r" b_t &= \mu\, b_{t-1} + \frac{g_t}{\sqrt{\tilde v_t} + \epsilon} \\"
        r" \theta_t &= \theta_{t-1} - \gamma\, b_t"
        r" \end{aligned}"
    ),
    note=(
        "ε is added outside the square root, and momentum accumulates the normalized step; "
        "the lecture that introduced RMSprop specifies neither."
    ),
    reference=(
        "Hinton, Srivastava & Swersky (2012), Neural Networks for Machine Learning, Lecture 6e; "
        "centered: Graves (2013), Generating Sequences With Recurrent Neural Networks"
    ),
    separable=True,
)

ADADELTA = OptimizerSpec(
    key="adadelta",
    label="AdaDelta",
    family="adaptive",
    cls_path="torch.optim.Adadelta",
    schema=(
        _lr(1.0, "γ scales the step (1 = the paper's rule)"),
        _fraction(
            name="rho",
            default=0.9,
            help="decay ρ of both moving averages",
            label="rho ρ",
        ),
        _eps(1e-6, "ε inside both square roots (it also sets the first steps' size)"),
        _weight_decay(),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\"
        r" v_t &= \rho\, v_{t-1} + (1-\rho)\, g_t^2 \\"
        r" \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\"
        r" u_t &= \rho\, u_{t-1} + (1-\rho)\, \Delta_t^2 \\"
        r" \theta_t &= \theta_{t-1} - \gamma\, \Delta_t"
        r" \end{aligned}"
    ),
    note="PyTorch multiplies the step by a learning rate γ, which the paper does not have.",
    reference="Zeiler (2012), ADADELTA: An Adaptive Learning Rate Method",
    separable=True,
)

ADAM = OptimizerSpec(
    key="adam",
    label="Adam",
    family="adaptive",
    cls_path="torch.optim.Adam",
    schema=(
        _lr(0.05, "step size γ (demo default; torch: 0.001)"),
        _betas(),
        _eps(1e-8),
        _weight_decay(),
        _amsgrad(),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\"
        + _ADAM_MV
        + r" \hat v_t &= \begin{cases} \max(\hat v_{t-1}, v_t) & \text{AMSGrad} \\"
        r" v_t & \text{otherwise} \end{cases} \\"
        r" \theta_t &= \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\,"
        r" \frac{m_t}{\sqrt{\hat v_t}\,/\sqrt{1-\beta_2^t} + \epsilon}"
        r" \end{aligned}"
    ),
    note=(
        "ε is added after bias-correcting √v (the paper's Algorithm 1, not its ε̂ form); "
        "weight_decay is L2 added to the gradient (use AdamW to decouple it); AMSGrad's max "
        "is bias-corrected, which the AMSGrad paper does not do."
    ),
    reference=(
        "Kingma & Ba (2015), Adam: A Method for Stochastic Optimization; AMSGrad: Reddi, Kale & "
        "Kumar (2018), On the Convergence of Adam and Beyond"
    ),
    separable=True,
)

ADAMW = OptimizerSpec(
    key="adamw",
    label="AdamW",
    family="adaptive",
    cls_path="torch.optim.AdamW",
    schema=(
        _lr(0.05, "step size γ (demo default; torch: 0.001)"),
        _betas(),
        _eps(1e-8),
        Hyperparameter(
            name="weight_decay",
            kind="float",
            default=0.01,
            low=0.0,
            high=10.0,
            log=False,
            help="decoupled decay λ: θ ← θ(1 − γλ) before the Adam step",
            label="weight decay λ",
        ),
        _amsgrad(),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" \theta'_{t-1} &= (1 - \gamma\lambda)\, \theta_{t-1}, \quad"
        r" g_t = \nabla f(\theta_{t-1}) \\"
        + _ADAM_MV
        + r" \hat v_t &= \begin{cases} \max(\hat v_{t-1}, v_t) & \text{AMSGrad} \\"
        r" v_t & \text{otherwise} \end{cases} \\"
        r" \theta_t &= \theta'_{t-1} - \frac{\gamma}{1-\beta_1^t}\,"
        r" \frac{m_t}{\sqrt{\hat v_t}\,/\sqrt{1-\beta_2^t} + \epsilon}"
        r" \end{aligned}"
    ),
    note=(
        "PyTorch scales the decay by the learning rate (θ ← θ − γλθ); the paper scales it by "
        "the schedule multiplier only, so PyTorch's λ is the paper's λ/α."
    ),
    reference="Loshchilov & Hutter (2019), Decoupled Weight Decay Regularization",
    separable=True,
)

ADAMAX = OptimizerSpec(
    key="adamax",
    label="Adamax",
    family="adaptive",
    cls_path="torch.optim.Adamax",
    schema=(
        _lr(0.1, "step size γ (demo default; torch: 0.002)"),
        _betas(),
        _eps(1e-8),
        _weight_decay(),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\"
        r" m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\"
        r" u_t &= \max(\beta_2\, u_{t-1},\ |g_t| + \epsilon) \\"
        r" \theta_t &= \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\, \frac{m_t}{u_t}"
        r" \end{aligned}"
    ),
    note="PyTorch adds ε to |g| inside the max; the paper's u_t = max(β₂u, |g|) has none.",
    reference="Kingma & Ba (2015), Adam: A Method for Stochastic Optimization, §7.1 (AdaMax)",
    separable=True,
)

NADAM = OptimizerSpec(
    key="nadam",
    label="NAdam",
    family="adaptive",
    cls_path="torch.optim.NAdam",
    schema=(
        _lr(0.05, "step size γ (demo default; torch: 0.002)"),
        _betas(),
        _eps(1e-8),
        _weight_decay(),
        Hyperparameter(
            name="momentum_decay",
            kind="float",
            default=0.004,
            low=0.0,
            high=1.0,
            log=False,
            help="ψ in the momentum schedule μ_t = β₁(1 − ½·0.96^{tψ})",
            label="momentum decay ψ",
        ),
        _decoupled(),
    ),
    update_rule=(
        r"\begin{aligned}"
        + _DECOUPLED_G
        + r" \mu_t &= \beta_1 \bigl(1 - \tfrac12\, 0.96^{\,t\psi}\bigr) \\"
        + _ADAM_MV
        + r" \hat v_t &= v_t / (1-\beta_2^t) \\"
        r" \theta_t &= \theta'_{t-1} - \gamma\, \frac{1-\mu_t}{1-\prod_{i\le t}\mu_i}\,"
        r" \frac{g_t}{\sqrt{\hat v_t}+\epsilon} - \gamma\, \frac{\mu_{t+1}}{1-\prod_{i\le t+1}"
        r" \mu_i}\, \frac{m_t}{\sqrt{\hat v_t}+\epsilon}"
        r" \end{aligned}"
    ),
    note=(
        "PyTorch uses Dozat's warming momentum schedule μ_t (ψ = momentum_decay) and "
        "bias-corrects with the product of the μ's; decoupled_weight_decay makes it NAdamW."
    ),
    reference="Dozat (2016), Incorporating Nesterov Momentum into Adam",
    separable=True,
)

RADAM = OptimizerSpec(
    key="radam",
    label="RAdam",
    family="adaptive",
    cls_path="torch.optim.RAdam",
    schema=(
        _lr(1e-3, "step size γ (its first ~5 steps are un-normalized: γ·m̂)"),
        _betas(),
        _eps(1e-8),
        _weight_decay(),
        _decoupled(),
    ),
    update_rule=(
        r"\begin{aligned}"
        + _DECOUPLED_G
        + _ADAM_MV
        + r" \rho_\infty &= \tfrac{2}{1-\beta_2} - 1, \quad"
        r" \rho_t = \rho_\infty - \tfrac{2 t \beta_2^t}{1-\beta_2^t} \\"
        r" r_t &= \sqrt{\tfrac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}"
        r"{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}} \\"
        r" \theta_t &= \theta'_{t-1} - \gamma\, \frac{m_t}{1-\beta_1^t} \cdot"
        r" \begin{cases} r_t\, \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon} & \rho_t > 5 \\"
        r" 1 & \text{otherwise} \end{cases}"
        r" \end{aligned}"
    ),
    note=(
        "PyTorch switches to the adaptive step when ρ_t > 5 (the paper: ρ_t > 4) and adds ε "
        "to √v_t, which the paper does not; decoupled_weight_decay decays θ ← θ(1 − γλ) "
        "before the step, as AdamW does, instead of adding λθ to g."
    ),
    reference=("Liu et al. (2020), On the Variance of the Adaptive Learning Rate and Beyond"),
    separable=True,
)

ASGD = OptimizerSpec(
    key="asgd",
    label="ASGD",
    family="first-order",
    cls_path="torch.optim.ASGD",
    schema=(
        _lr(1e-3, "step size γ (demo default; torch's 0.01 diverges on Rosenbrock)"),
        Hyperparameter(
            name="lambd",
            kind="float",
            default=1e-4,
            low=0.0,
            high=1.0,
            log=False,
            help="λ: decay term θ(1 − λη_t) and step-size decay γ/(1 + λγt)^α",
            label="lambda λ",
        ),
        Hyperparameter(
            name="alpha",
            kind="float",
            default=0.75,
            low=0.0,
            high=2.0,
            log=False,
            help="α: power of the step-size decay",
            label="alpha α",
        ),
        Hyperparameter(
            name="t0",
            kind="float",
            default=1e6,
            low=1.0,
            high=1e9,
            log=True,
            help="t₀: step at which averaging starts",
            label="averaging start t₀",
        ),
        _weight_decay(symbol="ω"),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" g_t &= \nabla f(\theta_{t-1}) + \omega\,\theta_{t-1} \\"
        r" \theta_t &= (1 - \lambda\eta_t)\, \theta_{t-1} - \eta_t\, g_t \\"
        r" \bar\theta_t &= \bar\theta_{t-1} + \mu_t\, (\theta_t - \bar\theta_{t-1}) \\"
        r" \eta_{t+1} &= \frac{\gamma}{(1 + \lambda\gamma t)^{\alpha}}, \quad"
        r" \mu_{t+1} = \frac{1}{\max(1,\ t - t_0)}, \quad \eta_1 = \gamma,\ \mu_1 = 1"
        r" \end{aligned}"
    ),
    note=(
        "The path shown is the SGD iterate θ; the Polyak average θ̄, the point ASGD is meant to "
        "return, is kept in the state as 'ax'."
    ),
    reference=("Polyak & Juditsky (1992), Acceleration of Stochastic Approximation by Averaging"),
    separable=True,
)

ADAFACTOR = OptimizerSpec(
    key="adafactor",
    label="Adafactor",
    family="adaptive",
    cls_path="torch.optim.Adafactor",
    schema=(
        _lr(0.05, "γ caps the relative step ρ_t = min(γ, 1/√t) (demo default; torch: 0.01)"),
        Hyperparameter(
            name="beta2_decay",
            kind="float",
            default=FROM_SIGNATURE,
            low=-1.0,
            high=0.0,
            help="c: the second moment averages with weight t^c (c = −0.8: 1 − β̂₂ shrinks as "
            "training goes on, so early gradients are forgotten fast)",
            label="β₂ decay c",
        ),
        Hyperparameter(
            name="d",
            kind="float",
            default=FROM_SIGNATURE,
            low=1.0,
            high=100.0,
            log=True,
            help="clipping threshold d ≥ 1: the update is scaled down when RMS(u) > d",
            label="clipping threshold d",
        ),
        Hyperparameter(
            name="weight_decay",
            kind="float",
            default=FROM_SIGNATURE,
            low=0.0,
            high=10.0,
            help="decoupled decay λ: θ ← θ(1 − γλ) before the step",
            label="weight decay λ",
        ),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" g_t &= \nabla f(\theta_{t-1}), \quad"
        r" \rho_t = \min\!\bigl(\gamma,\ \tfrac{1}{\sqrt t}\bigr), \quad"
        r" \alpha_t = \max\bigl(\epsilon_2,\ \operatorname{RMS}(\theta_{t-1})\bigr)\, \rho_t \\"
        r" v_t &= (1 - t^{c})\, v_{t-1} + t^{c}\, g_t^2 \\"
        r" u_t &= \frac{g_t}{\sqrt{\max(v_t,\ \epsilon_1^2)}} \\"
        r" \theta_t &= (1 - \gamma\lambda)\, \theta_{t-1}"
        r" - \frac{\alpha_t}{\max\bigl(1,\ \operatorname{RMS}(u_t)/d\bigr)}\, u_t"
        r" \end{aligned}"
    ),
    note=(
        "A 2D point is a vector, so its second moment is not factored (factoring needs a "
        "matrix). The step is relative: α scales with RMS(θ) = |θ|/√2 (at least ε₂ = 10⁻³), so "
        "it slows near the origin and speeds up far from it; ε₁ is the float64 machine epsilon. "
        "RMS(θ) and RMS(u) are per parameter, so each particle is its own parameter."
    ),
    reference=(
        "Shazeer & Stern (2018), Adafactor: Adaptive Learning Rates with Sublinear Memory Cost"
    ),
    separable=False,
    execution="per_tensor",
    param_shape=(2,),
)

MUON = OptimizerSpec(
    key="muon",
    label="Muon",
    family="first-order",
    cls_path="torch.optim.Muon",
    schema=(
        _lr(0.02, "step length γ of the orthogonalised update (demo default; torch: 0.001)"),
        Hyperparameter(
            name="weight_decay",
            kind="float",
            default=0.0,
            low=0.0,
            high=10.0,
            help="decoupled decay λ: θ ← θ(1 − γλ) (demo default 0, torch: 0.1, which pulls "
            "every point to the origin)",
            label="weight decay λ",
        ),
        _fraction(
            name="momentum",
            default=FROM_SIGNATURE,
            help="μ of the momentum buffer",
            label="momentum μ",
        ),
        Hyperparameter(
            name="nesterov",
            kind="bool",
            default=FROM_SIGNATURE,
            help="orthogonalise g + μ(b − g) instead of the buffer b",
            label="Nesterov",
        ),
        Hyperparameter(
            name="ns_steps",
            kind="int",
            default=FROM_SIGNATURE,
            low=1,
            high=20,
            help="Newton–Schulz iterations",
            label="Newton–Schulz steps",
        ),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" g_t &= \nabla f(\theta_{t-1}) \quad (\theta \text{ as a } 1 \times 2 \text{ matrix}) \\"
        r" b_t &= \mu\, b_{t-1} + (1-\mu)\, g_t, \quad"
        r" u_t = \begin{cases} g_t + \mu\,(b_t - g_t) & \text{Nesterov} \\ b_t & \text{otherwise}"
        r" \end{cases} \\"
        r" X_0 &= \frac{u_t}{\max(\lVert u_t \rVert_F,\ \epsilon)}, \quad"
        r" X_{k+1} = a X_k + (b\, X_k X_k^\top + c\, (X_k X_k^\top)^2)\, X_k"
        r" \quad (\text{in bfloat16}) \\"
        r" \theta_t &= (1 - \gamma\lambda)\, \theta_{t-1}"
        r" - \gamma \sqrt{\max(1, A/B)}\; X_{K}"
        r" \end{aligned}"
    ),
    note=(
        "Muon orthogonalises the update matrix (Newton–Schulz, (a, b, c) = (3.4445, −4.775, "
        "2.0315), in bfloat16). A 2D point is a 1×2 matrix, whose update has rank one: "
        "orthogonalising u = σ·abᵀ leaves abᵀ = u/|u|, so Muon here is a normalised momentum "
        "step of length about 0.7–1.1γ, whatever |u| is: the quintic iteration oscillates "
        "around singular value 1 instead of converging to it (0.68γ after the default 5 steps, "
        "1.12γ after 2), and bfloat16 keeps ~3 digits of the direction. On a matrix of a "
        "network it equalises "
        "every singular direction; on one point there is only one. A/B = 1/2, so the scale is 1."
    ),
    reference=(
        "Jordan et al. (2024), Muon: An optimizer for hidden layers in neural networks; "
        "Liu et al. (2025), Muon is Scalable for LLM Training"
    ),
    separable=False,
    execution="per_tensor",
    param_shape=(1, 2),
)

LBFGS = OptimizerSpec(
    key="lbfgs",
    label="L-BFGS",
    family="quasi-Newton",
    cls_path="torch.optim.LBFGS",
    schema=(
        _lr(1.0, "step length γ (the line search's first trial when it is on)"),
        Hyperparameter(
            name="max_iter",
            kind="int",
            default=1,
            low=1,
            high=100,
            log=False,
            help="iterations per step() (demo default 1 = one iteration per frame; torch: 20)",
            label="iterations per step",
        ),
        Hyperparameter(
            name="max_eval",
            kind="int",
            default=25,
            low=1,
            high=1000,
            log=False,
            help="function evaluations per step() (the line search needs several; "
            "torch: max_iter·5/4)",
            label="evaluations per step",
        ),
        Hyperparameter(
            name="history_size",
            kind="int",
            default=100,
            low=1,
            high=1000,
            log=False,
            help="m: number of (s, y) pairs kept",
            label="history m",
        ),
        Hyperparameter(
            name="line_search_fn",
            kind="choice",
            default="strong_wolfe",
            help="'strong_wolfe' (default here: a clean path) or None (torch's default: fixed γ)",
            label="line search",
            choices=(None, "strong_wolfe"),
        ),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" s_i &= \theta_{i+1} - \theta_i, \quad y_i = g_{i+1} - g_i"
        r" \quad (\text{last } m \text{ pairs with } y_i^\top s_i > 10^{-10}) \\"
        r" d_t &= -H_t\, g_t \quad (\text{two-loop recursion},\ H_t^0 ="
        r" \tfrac{s^\top y}{y^\top y} I) \\"
        r" \tilde\alpha_t &= \begin{cases} \min(1,\ 1/\lVert g_1 \rVert_1)\, \gamma & t = 1 \\"
        r" \gamma & t > 1 \end{cases} \\"
        r" \alpha_t &= \tilde\alpha_t, \text{ or a strong-Wolfe line search started at }"
        r" \tilde\alpha_t \\"
        r" \theta_t &= \theta_{t-1} + \alpha_t\, d_t"
        r" \end{aligned}"
    ),
    note=(
        "One step() runs up to max_iter iterations (torch default 20, here 1). PyTorch's "
        "guards, which run here too: no step at all once max|g| ≤ 10⁻⁷ (tolerance_grad), and a "
        "step() ends early when max|g| ≤ 10⁻⁷, when max|α d| ≤ 10⁻⁹ or the loss changes by "
        "less than 10⁻⁹ (tolerance_change), or after max_eval evaluations; a pair (s, y) with "
        "yᵀs ≤ 10⁻¹⁰ is not stored."
    ),
    reference=(
        "Liu & Nocedal (1989), On the Limited Memory BFGS Method for Large Scale Optimization"
    ),
    separable=False,
    execution="per_particle",
    needs_closure=True,
)

# --- our own (every default from the kernel's signature: optviz/optimizers/<key>.py) -----

_SIG = FROM_SIGNATURE

_CURVATURE = Hyperparameter(
    name="curvature",
    kind="choice",
    default=_SIG,
    help=(
        "'exact': |∂²f/∂θᵢ²|, the Hessian's diagonal at θ, as the paper computes it; 'secant': "
        "|Δ∇f/Δθ| over the last move (a finite difference that also picks up cross terms and "
        "turns to rounding noise when moves are tiny)"
    ),
    label="curvature estimate",
    choices=("exact", "secant"),
)


def _secant_init_lr() -> Hyperparameter:
    return Hyperparameter(
        name="init_lr",
        kind="float",
        default=_SIG,
        low=1e-6,
        high=10.0,
        log=True,
        help="γ₀ of the first step of the secant estimate, a plain gradient step (no move yet, "
        "so no curvature); with the exact curvature, only where the Hessian is not finite",
        label="first step size γ₀ (secant)",
    )


# The curvature line shared by the diagonal methods' rules.
_DIAGONAL_H = (
    r" h_t &= \begin{cases} \left| \dfrac{\partial^2 f}{\partial \theta_i^2}(\theta_{t-1})"
    r" \right| & \text{exact (noise-free)} \\"
    r" \left| \dfrac{G(\theta_{t-1}) - G(\theta_{t-2})}{\theta_{t-1} - \theta_{t-2}} \right|"
    r" & \text{secant}, \ G = \nabla f \text{ noise-free} \end{cases} \\"
)

_SECANT_GUARD = (
    "No estimate, no curvature update: with the secant before the first move or for a "
    "coordinate that did not move (Δθᵢ = 0), and with the exact curvature where the Hessian's "
    "diagonal is not finite, h̄ keeps its value; with no estimate yet, the diagonal "
    "quasi-Newton step is the plain γ₀g and vSGD's h̄ starts from C·h_min."
)

NEWTON = OptimizerSpec(
    key="newton",
    label="Newton",
    family="second-order",
    cls_path="optviz.optimizers.newton.Newton",
    schema=(
        _lr(_SIG, "step scale γ (1 = full Newton step)"),
        Hyperparameter(
            name="damping",
            kind="float",
            default=_SIG,
            low=0.0,
            high=1e4,
            help="λ added to the Hessian's diagonal; 0 = pure Newton (a singular Hessian then "
            "gives a non-finite step, reported as divergence)",
            label="damping λ",
        ),
    ),
    update_rule=(
        r"\theta_t = \theta_{t-1} - \gamma\, \bigl(\nabla^2 f(\theta_{t-1}) + \lambda I\bigr)^{-1}"
        r" \bigl(\nabla f(\theta_{t-1}) + \xi_t\bigr)"
    ),
    note=(
        "Exact Hessian (noise-free), solved per point in closed form by the 2×2 adjugate; ξ is "
        "the gradient noise, if any. Pure Newton heads for the nearest stationary point, "
        "saddles and maxima included."
    ),
    reference="Nocedal & Wright (2006), Numerical Optimization, 2nd ed., ch. 3 (Newton's method)",
    separable=False,
    needs_hessian=True,
)

DIAG_NEWTON = OptimizerSpec(
    key="diag_newton",
    label="Diagonal quasi-Newton",
    family="quasi-Newton",
    cls_path="optviz.optimizers.diag_newton.DiagNewton",
    schema=(
        _lr(_SIG, "step scale γ on g/(h̄ + μ)"),
        Hyperparameter(
            name="damping",
            kind="float",
            default=_SIG,
            low=0.0,
            high=1e4,
            help="μ added to the curvature |h|: bounds the step where the curvature is small, "
            "zero or negative",
            label="damping μ",
        ),
        _fraction(
            name="beta",
            default=_SIG,
            help="β: moving average of the curvature estimates",
            label="beta β",
        ),
        _CURVATURE,
        _secant_init_lr(),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" g_t &= \nabla f(\theta_{t-1}) + \xi_t \quad (\xi_t \text{: gradient noise, if any}) \\"
        + _DIAGONAL_H
        + r" \bar h_t &= \beta\, \bar h_{t-1} + (1-\beta)\, h_t \quad (\bar h = h \text{ at the"
        r" first estimate}) \\"
        r" \theta_t &= \theta_{t-1} - \gamma\, \frac{g_t}{\bar h_t + \mu}"
        r" \quad (\text{secant's first step: } \theta_1 = \theta_0 - \gamma_0\, g_1)"
        r" \end{aligned}"
    ),
    note=(
        "Becker & LeCun's pseudo-Newton step: the exact diagonal second derivative (they "
        "computed it by a second backward pass; here it is the surface's closed-form Hessian). "
        "|h| keeps the step along −g where the curvature is negative (a saddle, Rosenbrock's "
        "ridge) and μ bounds it where |h| is small. " + _SECANT_GUARD
    ),
    reference=(
        "Becker & LeCun (1988), Improving the convergence of back-propagation learning with "
        "second order methods"
    ),
    separable=True,
    needs_hessian=True,
    needs_grad_fn=True,
)

VSGD_SPEC = OptimizerSpec(
    key="vsgd",
    label="vSGD",
    family="adaptive",
    cls_path="optviz.optimizers.vsgd.VSGD",
    schema=(
        Hyperparameter(
            name="min_curvature",
            kind="float",
            default=_SIG,
            low=1e-6,
            high=1e6,
            log=True,
            help="h_min: floor of the curvature |h| (bounds the step g/h where the curvature "
            "is small, zero or negative)",
            label="curvature floor h_min",
        ),
        Hyperparameter(
            name="slow_constant",
            kind="float",
            default=_SIG,
            low=1.0,
            high=100.0,
            help="C: the statistics start inflated by C (a cautious start)",
            label="slow start C",
        ),
        Hyperparameter(
            name="init_tau",
            kind="float",
            default=_SIG,
            low=1.0,
            high=1e4,
            log=True,
            help="τ₀: initial memory, in steps",
            label="initial memory τ₀",
        ),
        _eps(_SIG, "ε added to v̄ in the ratio ḡ²/v̄"),
        _CURVATURE,
        _secant_init_lr(),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" g_t &= \nabla f(\theta_{t-1}) + \xi_t \quad (\xi_t \text{: gradient noise, if any}) \\"
        + _DIAGONAL_H
        + r" \bar g &\leftarrow (1 - \tau^{-1})\, \bar g + \tau^{-1} g_t, \quad"
        r" \bar v \leftarrow (1 - \tau^{-1})\, \bar v + \tau^{-1} g_t^2, \quad"
        r" \bar h \leftarrow (1 - \tau^{-1})\, \bar h + \tau^{-1} \max(h_t, h_{\min}) \\"
        r" \eta^*_t &= \frac{\min(\bar g^2/(\bar v + \epsilon),\ 1)}{\bar h}, \quad"
        r" \tau \leftarrow \Bigl(1 - \min\bigl(\tfrac{\bar g^2}{\bar v + \epsilon}, 1\bigr)"
        r"\Bigr)\, \tau + 1 \\"
        r" \theta_t &= \theta_{t-1} - \eta^*_t\, g_t"
        r" \end{aligned}"
    ),
    note=(
        "The paper's curvature is a 'bbprop' estimate of the Hessian's diagonal; here it is "
        "the exact diagonal of the surface's Hessian (noise-free). |h| keeps the rate positive "
        "where the curvature is negative, h_min bounds the step where it vanishes. At the first "
        "estimate (step 1; the secant's step 2, after a first step γ₀g) the statistics start "
        "as ḡ = g, v̄ = C(g² + ε), h̄ = C·max(h, h_min), τ = τ₀. " + _SECANT_GUARD
    ),
    reference=(
        "Schaul, Zhang & LeCun (2012), No More Pesky Learning Rates, arXiv:1206.1106 (ICML 2013); "
        "Schaul & LeCun (2013), Adaptive learning rates and parallelization for stochastic, "
        "sparse, non-smooth gradients (ICLR 2013)"
    ),
    separable=True,
    needs_hessian=True,
    needs_grad_fn=True,
)

ADAGRAD_FULL = OptimizerSpec(
    key="adagrad_full",
    label="Full-matrix AdaGrad",
    family="adaptive",
    cls_path="optviz.optimizers.adagrad_full.AdaGradFull",
    schema=(
        _lr(_SIG, "step size η"),
        _eps(_SIG, "δ added to G^{1/2} so it stays invertible"),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" G_t &= G_{t-1} + g_t\, g_t^\top \\"
        r" \theta_t &= \theta_{t-1} - \eta\, \bigl(\delta I + G_t^{1/2}\bigr)^{-1} g_t"
        r" \end{aligned}"
    ),
    note=(
        "δ is added to G^{1/2}, as in Duchi et al., so a diagonal G gives exactly torch's "
        "AdaGrad g/(√G + ε) with ε = δ. G^{1/2} in closed form: (G + s I)/√(tr G + 2s) with "
        "s = √max(det G, 0). While G is (nearly) rank one, as in the first steps or when "
        "gradients keep one direction, δI + G^{1/2} has condition number about |g|/δ, so "
        "rounding (or a 10⁻¹⁵ change of the start) moves a step in about its 7th digit: "
        "invisible in a plot, but this optimizer is not reproducible to 10⁻⁹ as the others are."
    ),
    reference=(
        "Duchi, Hazan & Singer (2011), Adaptive Subgradient Methods for Online Learning and "
        "Stochastic Optimization"
    ),
    separable=False,
)

NATURAL_GRADIENT = OptimizerSpec(
    key="natural_gradient",
    label="Natural gradient",
    family="second-order",
    cls_path="optviz.optimizers.natural_gradient.NaturalGradient",
    schema=(
        _lr(_SIG, "step size η"),
        Hyperparameter(
            name="damping",
            kind="float",
            default=_SIG,
            low=1e-6,
            high=1e4,
            log=True,
            help="λ added to F (F is rank-deficient); small gradients give steps ηg/λ",
            label="damping λ",
        ),
        _fraction(
            name="beta",
            default=_SIG,
            help="β: moving average of g gᵀ — the empirical-Fisher approximation, not the true "
            "Fisher of a probabilistic model",
            label="beta β",
        ),
    ),
    update_rule=(
        r"\begin{aligned}"
        r" F_t &= \beta F_{t-1} + (1-\beta)\, g_t\, g_t^\top, \quad"
        r" \hat F_t = \frac{F_t}{1-\beta^t} \\"
        r" \theta_t &= \theta_{t-1} - \eta\, \bigl(\hat F_t + \lambda I\bigr)^{-1} g_t"
        r" \end{aligned}"
    ),
    note=(
        "Empirical Fisher: an average of g gᵀ stands in for the Fisher information, which a "
        "bare loss surface does not define; it mostly measures the gradient's own size."
    ),
    reference=(
        "Amari (1998), Natural Gradient Works Efficiently in Learning; Kunstner, Balles & "
        "Hennig (2019), Limitations of the Empirical Fisher Approximation for Natural "
        "Gradient Descent"
    ),
    separable=False,
)

REGISTRY: dict[str, OptimizerSpec] = {
    spec.key: spec
    for spec in (
        SGD,
        RPROP,
        ADAGRAD,
        RMSPROP,
        ADADELTA,
        ADAM,
        ADAMW,
        ADAMAX,
        NADAM,
        RADAM,
        ASGD,
        ADAFACTOR,
        MUON,
        LBFGS,
        *PACKAGE_SPECS,
        NEWTON,
        DIAG_NEWTON,
        VSGD_SPEC,
        ADAGRAD_FULL,
        NATURAL_GRADIENT,
    )
}

# --- what the UI lists -----------------------------------------------------------------------

_WEIGHT_DECAY_DEMO = 0.1  # large enough that Adam + L2 and AdamW end visibly apart on Rosenbrock


def _plain(key: str) -> Variant:
    return Variant(key, REGISTRY[key].label, key, {})


VARIANTS: dict[str, Variant] = {
    v.key: v
    for v in (
        _plain("sgd"),
        Variant("momentum", "Momentum", "sgd", {"momentum": 0.9}, "SGD with heavy-ball momentum"),
        Variant(
            "nesterov",
            "Nesterov",
            "sgd",
            {"momentum": 0.9, "nesterov": True},
            "SGD with Nesterov momentum",
        ),
        _plain("rprop"),
        _plain("adagrad"),
        _plain("rmsprop"),
        _plain("adadelta"),
        _plain("adam"),
        Variant("amsgrad", "AMSGrad", "adam", {"amsgrad": True}, "Adam with the running max of v"),
        Variant(
            "adam_l2",
            "Adam + L2",
            "adam",
            {"weight_decay": _WEIGHT_DECAY_DEMO},
            "Adam with an L2 penalty added to the gradient",
        ),
        Variant(
            "adamw",
            "AdamW",
            "adamw",
            {"weight_decay": _WEIGHT_DECAY_DEMO},
            "Adam with decoupled weight decay (same λ as Adam + L2)",
        ),
        _plain("adamax"),
        _plain("nadam"),
        _plain("radam"),
        _plain("asgd"),
        _plain("adafactor"),
        _plain("muon"),
        _plain("lbfgs"),
        *(_plain(spec.key) for spec in PACKAGE_SPECS),
        _plain("newton"),
        _plain("diag_newton"),
        _plain("vsgd"),
        _plain("adagrad_full"),
        _plain("natural_gradient"),
    )
}

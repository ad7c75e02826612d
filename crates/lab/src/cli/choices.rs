//! Every named choice a flag takes, with the help line `--help` shows for
//! each value (the values are the library's serde names, [`super::choice`]).
//! A new variant of one of these enums does not compile until it is listed.

use dropout::PathScope;
use engine::init::Init;
use engine::layers::{Activation, DropoutKind, DropoutVariant, RnnDropout};
use engine::spec::{DropPlace, Norm};
use lab::config::{Builtin, Header, Keep, MomentumForm, OptimizerName, Standardize};
use lab::uq::sample::McSites;

use super::choice::choices;

choices! {
    Keep {
        Last => "the weights after the last epoch trained",
        Best => "the weights of the epoch with the lowest validation loss",
    }
    Builtin {
        Mnist => "MNIST handwritten digits (LeCun et al. 1998)",
        Fashion => "Fashion-MNIST clothing images (Xiao et al. 2017): MNIST's format and size, harder",
        Shakespeare => "the complete works of Shakespeare as one text (for a character-level GPT: --arch gpt)",
    }
    Header {
        Auto => "decide from the first line; refuse when it is unclear",
        Yes => "the first line holds column names",
        No => "the first line is data",
    }
    Standardize {
        Auto => "CSV data yes, IDX images no (they are scaled to [0, 1])",
        On => "always",
        Off => "never (IDX pixels are still scaled to [0, 1])",
    }
    Activation {
        Relu => "rectified linear unit",
        Tanh => "hyperbolic tangent",
        Sigmoid => "logistic sigmoid",
        Selu => "scaled exponential linear unit (self-normalising; use with --dropout-variant alpha)",
        Gelu => "Gaussian error linear unit, tanh form (GPT-2's; the Transformers' default)",
    }
    DropoutKind {
        Element => "each element on its own (Srivastava et al. 2014)",
        Spatial => "whole channels of a (C, H, W) sample (Tompson et al. 2015)",
        Block => "b × b blocks of each channel (DropBlock, Ghiasi et al. 2018)",
    }
    DropoutVariant {
        Standard => "inverted dropout: dropped → 0, kept → x / (1 − p)",
        Alpha => "AlphaDropout for SELU nets: dropped → SELU's saturation, then an affine map",
        Gaussian => "Gaussian dropout x · (1 + σz), σ² = p/(1 − p); needs p < 1",
        Noise => "additive Gaussian noise x + σz with the same σ; needs p < 1",
    }
    PathScope {
        Sample => "each sample its own coin (Huang et al. 2016; timm's drop_path)",
        Batch => "one coin for the batch: the block is skipped for the whole step",
    }
    RnnDropout {
        Locked => "one mask per sequence, shared by every step (Gal & Ghahramani 2016)",
        Naive => "a new mask at every time step",
    }
    Norm {
        None => "none",
        Batch => "BatchNorm (1-d after a dense layer, 2-d after a conv)",
        Layer => "LayerNorm (dense blocks only)",
    }
    DropPlace {
        AfterAct => "Dense → norm → act → dropout (Srivastava et al. 2014)",
        BeforeNorm => "Dense → dropout → norm → act",
    }
    Init {
        He => "He normal",
        Xavier => "Xavier uniform",
        Lecun => "LeCun normal",
    }
    OptimizerName {
        Sgd => "SGD with (optionally Nesterov) momentum",
        Adam => "Adam (Kingma & Ba 2015), L2 decay added to the gradient",
        Adamw => "AdamW (Loshchilov & Hutter 2019), decoupled weight decay",
    }
    MomentumForm {
        HeavyBall => "v ← μv + g (PyTorch's form)",
        Dampened => "v ← μv + (1 − μ)g (Hinton et al. 2012); not with Nesterov",
    }
    McSites {
        All => "every site, input dropout included",
        Hidden => "hidden sites only; the input is left whole",
    }
}

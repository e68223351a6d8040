//! The layout of the network as data: the kernel, stride and padding of each BasicConv2d,
//! the branches of each kind of mixed block (InceptionA to E) by torchvision's layer names,
//! the mixed blocks in order and the stem.

use super::layers::Pool;

/// Kernel, stride and padding of one BasicConv2d.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ConvSpec {
    pub(super) kernel: (usize, usize),
    pub(super) stride: usize,
    pub(super) padding: (usize, usize),
}

pub(super) const fn conv(kh: usize, kw: usize, stride: usize, ph: usize, pw: usize) -> ConvSpec {
    ConvSpec {
        kernel: (kh, kw),
        stride,
        padding: (ph, pw),
    }
}

const K1: ConvSpec = conv(1, 1, 1, 0, 0);
const K3: ConvSpec = conv(3, 3, 1, 0, 0);
const K3_PAD: ConvSpec = conv(3, 3, 1, 1, 1);
const K3_STRIDE2: ConvSpec = conv(3, 3, 2, 0, 0);
const K5_PAD: ConvSpec = conv(5, 5, 1, 2, 2);
pub(super) const K1X7: ConvSpec = conv(1, 7, 1, 0, 3);
pub(super) const K7X1: ConvSpec = conv(7, 1, 1, 3, 0);
const K1X3: ConvSpec = conv(1, 3, 1, 0, 1);
const K3X1: ConvSpec = conv(3, 1, 1, 1, 0);

/// A branch's layers by name, as in torchvision's `__init__`.
pub(super) type BranchSpec = (
    Pool,
    &'static [(&'static str, ConvSpec)],
    &'static [(&'static str, ConvSpec)],
);

const INCEPTION_A: [BranchSpec; 4] = [
    (Pool::None, &[("branch1x1", K1)], &[]),
    (
        Pool::None,
        &[("branch5x5_1", K1), ("branch5x5_2", K5_PAD)],
        &[],
    ),
    (
        Pool::None,
        &[
            ("branch3x3dbl_1", K1),
            ("branch3x3dbl_2", K3_PAD),
            ("branch3x3dbl_3", K3_PAD),
        ],
        &[],
    ),
    (Pool::AvgSame, &[("branch_pool", K1)], &[]),
];

const INCEPTION_B: [BranchSpec; 3] = [
    (Pool::None, &[("branch3x3", K3_STRIDE2)], &[]),
    (
        Pool::None,
        &[
            ("branch3x3dbl_1", K1),
            ("branch3x3dbl_2", K3_PAD),
            ("branch3x3dbl_3", K3_STRIDE2),
        ],
        &[],
    ),
    (Pool::MaxStride2, &[], &[]),
];

const INCEPTION_C: [BranchSpec; 4] = [
    (Pool::None, &[("branch1x1", K1)], &[]),
    (
        Pool::None,
        &[
            ("branch7x7_1", K1),
            ("branch7x7_2", K1X7),
            ("branch7x7_3", K7X1),
        ],
        &[],
    ),
    (
        Pool::None,
        &[
            ("branch7x7dbl_1", K1),
            ("branch7x7dbl_2", K7X1),
            ("branch7x7dbl_3", K1X7),
            ("branch7x7dbl_4", K7X1),
            ("branch7x7dbl_5", K1X7),
        ],
        &[],
    ),
    (Pool::AvgSame, &[("branch_pool", K1)], &[]),
];

const INCEPTION_D: [BranchSpec; 3] = [
    (
        Pool::None,
        &[("branch3x3_1", K1), ("branch3x3_2", K3_STRIDE2)],
        &[],
    ),
    (
        Pool::None,
        &[
            ("branch7x7x3_1", K1),
            ("branch7x7x3_2", K1X7),
            ("branch7x7x3_3", K7X1),
            ("branch7x7x3_4", K3_STRIDE2),
        ],
        &[],
    ),
    (Pool::MaxStride2, &[], &[]),
];

/// InceptionE with the pool of its last branch: average (Mixed_7b) or max (Mixed_7c).
const fn inception_e(pool: Pool) -> [BranchSpec; 4] {
    [
        (Pool::None, &[("branch1x1", K1)], &[]),
        (
            Pool::None,
            &[("branch3x3_1", K1)],
            &[("branch3x3_2a", K1X3), ("branch3x3_2b", K3X1)],
        ),
        (
            Pool::None,
            &[("branch3x3dbl_1", K1), ("branch3x3dbl_2", K3_PAD)],
            &[("branch3x3dbl_3a", K1X3), ("branch3x3dbl_3b", K3X1)],
        ),
        (pool, &[("branch_pool", K1)], &[]),
    ]
}

const INCEPTION_E_1: [BranchSpec; 4] = inception_e(Pool::AvgSame);
const INCEPTION_E_2: [BranchSpec; 4] = inception_e(Pool::MaxSame);

/// The mixed blocks in order, with their layouts.
pub(super) const MIXED: [(&str, &[BranchSpec]); 11] = [
    ("Mixed_5b", &INCEPTION_A),
    ("Mixed_5c", &INCEPTION_A),
    ("Mixed_5d", &INCEPTION_A),
    ("Mixed_6a", &INCEPTION_B),
    ("Mixed_6b", &INCEPTION_C),
    ("Mixed_6c", &INCEPTION_C),
    ("Mixed_6d", &INCEPTION_C),
    ("Mixed_6e", &INCEPTION_C),
    ("Mixed_7a", &INCEPTION_D),
    ("Mixed_7b", &INCEPTION_E_1),
    ("Mixed_7c", &INCEPTION_E_2),
];

/// The stem's convolutions; a 3x3 stride-2 max pool follows the third and the fifth.
pub(super) const STEM: [(&str, ConvSpec); 5] = [
    ("Conv2d_1a_3x3", conv(3, 3, 2, 0, 0)),
    ("Conv2d_2a_3x3", K3),
    ("Conv2d_2b_3x3", K3_PAD),
    ("Conv2d_3b_1x1", K1),
    ("Conv2d_4a_3x3", K3),
];

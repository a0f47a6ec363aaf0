import * as tf from '@tensorflow/tfjs-core';

const EPS = 1.1920928955078125e-7; // torch.finfo(float32).eps, as in cvpods' iou_loss

export type IouLossType = 'iou' | 'linear_iou' | 'giou';

/**
 * IoU-family loss between boxes given as distances (left, top, right, bottom) from the same point,
 * [..., 4], elementwise over the leading dims (cvpods `iou_loss(box_mode='ltrb')`, smooth=False).
 * Safe for all-zero rows (background locations), so it can be computed densely and masked by weights.
 */
export function ltrbIouLoss(pred: tf.Tensor, target: tf.Tensor, type: IouLossType = 'giou'): tf.Tensor {
  return tf.tidy(() => {
    const [pl, pt, pr, pb] = tf.unstack(pred, -1);
    const [tl, tt, tr, tb] = tf.unstack(target, -1);
    const predArea = tf.mul(tf.relu(tf.add(pl, pr)), tf.relu(tf.add(pt, pb)));
    const targetArea = tf.mul(tf.relu(tf.add(tl, tr)), tf.relu(tf.add(tt, tb)));
    const wInter = tf.relu(tf.add(tf.minimum(pl, tl), tf.minimum(pr, tr)));
    const hInter = tf.relu(tf.add(tf.minimum(pt, tt), tf.minimum(pb, tb)));
    const inter = tf.mul(wInter, hInter);
    const union = tf.sub(tf.add(predArea, targetArea), inter);
    const ious = tf.div(inter, tf.maximum(union, EPS));
    if (type === 'iou') return tf.neg(tf.log(tf.maximum(ious, EPS)));
    if (type === 'linear_iou') return tf.sub(1, ious);
    const gW = tf.add(tf.maximum(pl, tl), tf.maximum(pr, tr));
    const gH = tf.add(tf.maximum(pt, tt), tf.maximum(pb, tb));
    const hull = tf.mul(gW, gH);
    const gious = tf.sub(ious, tf.div(tf.sub(hull, union), tf.maximum(hull, EPS)));
    return tf.sub(1, gious);
  });
}

/**
 * GIoU loss between corner boxes (x1, y1, x2, y2), [..., 4], elementwise (for anchor detectors).
 */
export function xyxyGiouLoss(pred: tf.Tensor, target: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [px1, py1, px2, py2] = tf.unstack(pred, -1);
    const [tx1, ty1, tx2, ty2] = tf.unstack(target, -1);
    const predArea = tf.mul(tf.relu(tf.sub(px2, px1)), tf.relu(tf.sub(py2, py1)));
    const targetArea = tf.mul(tf.relu(tf.sub(tx2, tx1)), tf.relu(tf.sub(ty2, ty1)));
    const w = tf.relu(tf.sub(tf.minimum(px2, tx2), tf.maximum(px1, tx1)));
    const h = tf.relu(tf.sub(tf.minimum(py2, ty2), tf.maximum(py1, ty1)));
    const inter = tf.mul(w, h);
    const union = tf.sub(tf.add(predArea, targetArea), inter);
    const ious = tf.div(inter, tf.maximum(union, EPS));
    const gW = tf.sub(tf.maximum(px2, tx2), tf.minimum(px1, tx1));
    const gH = tf.sub(tf.maximum(py2, ty2), tf.minimum(py1, ty1));
    const hull = tf.mul(gW, gH);
    return tf.sub(1, tf.sub(ious, tf.div(tf.sub(hull, union), tf.maximum(hull, EPS))));
  });
}

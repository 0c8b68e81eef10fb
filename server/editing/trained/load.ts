import type { EditContext } from '../editor';
import { UntrainedEditorError } from './store';

interface Loadable {
  load(values: ReadonlyMap<string, Float32Array>): void;
  dispose(): void;
}

/**
 * A method's trained networks for the context's model and these layers, loaded once per version
 * of the file. Refuses, naming the command that trains one, when there is no file, when it was
 * trained with another architecture (`architecture` keys of the hyper-parameters), or on another
 * model shape. `make` builds empty networks from the file's hyper-parameters.
 */
export async function loadTrained<T extends Loadable>(
  ctx: EditContext,
  method: string,
  name: string,
  hp: { layers: readonly number[] } & object,
  architecture: readonly string[],
  make: (savedHparams: unknown) => T | Promise<T>,
): Promise<T> {
  const store = ctx.trained;
  const command = store?.trainCommand(method, hp.layers) ?? `npx locus train --method ${method} --model <model> --hparams '{"layers":[${hp.layers.join(',')}]}'`;
  if (!store) throw new UntrainedEditorError(`train ${name} for this model first: ${command} (no trained editors are available here)`);
  const file = store.file(method, hp.layers);
  const nets = await store.cached(
    file,
    async ({ tensors, meta }) => {
      const saved = (meta.architecture ?? {}) as Record<string, unknown>;
      const own = hp as Record<string, unknown>;
      const differs = architecture.filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(own[k]));
      if (differs.length) {
        throw new UntrainedEditorError(
          `the trained ${name} editor ${file} has ${differs.map((k) => `${k} ${JSON.stringify(saved[k])}`).join(', ')}, not ${differs.map((k) => JSON.stringify(own[k])).join(', ')}: use its settings or train again (${command})`,
        );
      }
      const spec = (meta.spec ?? {}) as Record<string, unknown>;
      const model = ctx.lm.editSpec;
      if (spec.hidden !== model.hidden || spec.mlpHidden !== model.mlpHidden || spec.layers !== model.layers) {
        throw new UntrainedEditorError(`the trained ${name} editor ${file} was trained on another architecture (${JSON.stringify(spec)}): ${command}`);
      }
      const loaded = await make(meta.hparams);
      loaded.load(tensors);
      return loaded;
    },
    (old) => old.dispose(),
  );
  if (!nets) throw new UntrainedEditorError(`train ${name} for this model first: ${command}`);
  return nets;
}

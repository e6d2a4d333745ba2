// TypeDoc plugin: drops the members every primitive inherits from RxJS's Observable (`pipe`,
// `subscribe`, `forEach`, ...). They are documented at rxjs.dev, and their comments link to RxJS
// symbols that TypeDoc cannot resolve here, which would fail the broken-link check for nothing.
import { Converter, ReflectionKind } from 'typedoc';

export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const project = context.project;
    for (const reflection of project.getReflectionsByKind(
      ReflectionKind.Method | ReflectionKind.Property | ReflectionKind.Accessor,
    )) {
      const from = reflection.inheritedFrom?.qualifiedName ?? '';
      if (from.startsWith('Observable.')) project.removeReflection(reflection);
    }
  });
}

// A machine step as both npm packages read it: the machine writes it as JSON text
// (the driver's StepRecord), and the payload it names is taken beside it.

/**
 * The step written as `text`, with its payload attached under the name the step
 * gives (`takeBytes`: `wire` or `bytes`, from `from.takeBytes()`; `takeText`: `json`, from
 * `from.takeText()`).
 */
function stepFrom(text, from) {
  const step = JSON.parse(text);
  if (step.takeBytes !== undefined) step[step.takeBytes] = from.takeBytes();
  if (step.takeText !== undefined) step[step.takeText] = from.takeText();
  // A generic GET's document comes as the text the service sent (the core checked it).
  if (step.typeName === 'raw') step.value = JSON.parse(step.json);
  return step;
}

export { stepFrom };

"""Exports between stacks: every stack exports `${AWS::StackName}-<output>` (names.EXPORT), and a
stack that imports names the exporting stack with a parameter (NetworkStackName, DataStackName,
RegistryStackName). Imports go one way only, from shorter-lived stacks to longer-lived ones."""

from troposphere import Export, ImportValue, Output, Sub

from template_builder import names


def exported(name: str, description: str | None, value, **extra) -> Output:
    """Output `name`, exported as `<this stack's name>-<name>` (``description`` None: none, for a
    template short of bytes whose output names say enough)."""
    export = names.EXPORT.format(stack=names.OWN_STACK_NAME, output=name)
    if description is not None:
        extra["Description"] = description
    return Output(name, Value=value, Export=Export(Sub(export)), **extra)


def imported(stack_parameter: str, output: str) -> ImportValue:
    """The export `output` of the stack that parameter `stack_parameter` names."""
    return ImportValue(Sub(names.EXPORT.format(stack="${" + stack_parameter + "}", output=output)))
